/* journal.c: the intake journal (journal.h): its files, and the append before the 204. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/datadir.h"
#include "base/le.h"
#include "base/log.h"
#include "store/journal-int.h"
#include "store/journal.h"

/* ---------------------------------------------------------------- CRC-32C */

static uint32_t crc_table[8][256];

static void
crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = (uint32_t)i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[0][i] = c;
	}
	for (i = 0; i < 256; i++)
		for (k = 1; k < 8; k++)
			crc_table[k][i] = (crc_table[k - 1][i] >> 8) ^ crc_table[0][crc_table[k - 1][i] & 0xff];
}

static uint32_t
crc_soft(uint32_t crc, const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint32_t a = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);

		crc = crc_table[7][a & 0xff] ^ crc_table[6][(a >> 8) & 0xff] ^ crc_table[5][(a >> 16) & 0xff] ^
		    crc_table[4][a >> 24] ^ crc_table[3][p[4]] ^ crc_table[2][p[5]] ^ crc_table[1][p[6]] ^
		    crc_table[0][p[7]];
		p += 8;
		n -= 8;
	}
	while (n--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const unsigned char *p, size_t n)
{
	uint64_t c = crc, v;

	while (n >= 8) {
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		n -= 8;
	}
	crc = (uint32_t)c;
	while (n--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

uint32_t
ac_crc32c(uint32_t crc, const void *data, size_t len)
{
	static int mode; /* 0: not yet known, 1: table, 2: SSE 4.2 */

	if (mode == 0) {
		crc_init();
		mode = 1;
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		if (__builtin_cpu_supports("sse4.2"))
			mode = 2;
#endif
	}
	crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
	if (mode == 2)
		return ~crc_hw(crc, data, len);
#endif
	return ~crc_soft(crc, data, len);
}

/* ---------------------------------------------------------------- helpers */

char *
ac_journal_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);

	if (p) {
		memcpy(p, dir, a);
		p[a] = '/';
		memcpy(p + a + 1, name, b + 1);
	}
	return p;
}

uint64_t
ac_journal_new_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	return id ? id : 1;
}

enum ac_err
ac_journal_io_err(const char *what, const char *path)
{
	int e = errno;
	int full = e == ENOSPC || e == EDQUOT || e == EFBIG;

	/* once a minute: the worker meets the same failure at every poll */
	ac_log_error_rare("%s %s: %s%s", what, path, strerror(e),
	    full ? ": the file system holding the data directory is full (free space there; webhooks are answered "
	    "503 and retried)" : "");
	return full ? AC_ERR_STORE_FULL : AC_ERR_STORE;
}

/* The file's header: its id, or 0 when it is not a journal (yet). */
uint64_t
ac_journal_read_id(int fd)
{
	unsigned char h[AC_JOURNAL_HDR];

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || memcmp(h, FILE_MAGIC, 8) != 0 ||
	    le_get32(h + 8) != FILE_VERSION)
		return 0;
	return le_get64(h + 16);
}

/*
 * Damage found: remembered for ac_journal_damage() (acctl prints it) and
 * logged once a minute per process, however many requests run into it.
 */
static void
say_damage(struct ac_journal *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
say_damage(struct ac_journal *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->damage, sizeof(j->damage), fmt, ap);
	va_end(ap);
	if (time(NULL) - j->damage_said >= 60) {
		ac_log_error("%s", j->damage);
		j->damage_said = time(NULL);
	}
}

/*
 * A file under the journal's name whose header is not a journal's. Every
 * named file got its header before its name (a private name, then link or
 * rename), so one large enough to have had it was damaged: appends are
 * refused (503, the product retries) rather than acknowledged into a file no
 * reader takes for a journal, and the file is left as it is, its records
 * intact, for the operator. A shorter one may be a foreign file being
 * written: refused as a store failure, not reported as damage.
 */
enum ac_err
ac_journal_bad_header(struct ac_journal *j, int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0 || (uint64_t)sb.st_size < AC_JOURNAL_HDR) {
		ac_log_error("%s is not an intake journal (%s)", j->path, "shorter than a header");
		return AC_ERR_STORE;
	}
	say_damage(j, "%s: the header is destroyed (not '" FILE_MAGIC "' and a file id): webhooks are refused "
	    "with 503 until it is repaired; its records are kept. Repair: acctl inbox ingest --repair", j->path);
	return AC_ERR_STORE_DAMAGED;
}

void
ac_journal_sync_dir(const struct ac_journal *j)
{
	if (fsync(j->dfd) != 0)
		ac_log_warn("fsync %s: %s", j->dir, strerror(errno));
}

/*
 * A new journal file named name (not yet visible under AC_JOURNAL_FILE):
 * created, never an existing name (O_EXCL), header written and flushed,
 * owned like the directory (an operator's root acctl must not leave a file
 * the app cannot append to).
 */
int
ac_journal_create_file(const struct ac_journal *j, const char *name, uint64_t *id)
{
	unsigned char h[AC_JOURNAL_HDR];
	int fd;

	if ((fd = ac_datadir_openat(j->dfd, j->dir, name, O_RDWR, AC_DATADIR_EXCL)) < 0)
		return -1;
	memset(h, 0, sizeof(h));
	memcpy(h, FILE_MAGIC, 8);
	le_put32(h + 8, FILE_VERSION);
	*id = ac_journal_new_id();
	le_put64(h + 16, *id);
	le_put64(h + 24, (uint64_t)time(NULL));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    (j->sync != AC_JOURNAL_SYNC_OFF && fdatasync(fd) != 0)) {
		int e = errno;

		close(fd);
		unlinkat(j->dfd, name, 0);
		errno = e;
		return -1;
	}
	return fd;
}

/* The words for earlier builds' appenders (struct ac_journal_words), mapped once per process; NULL when they cannot be. */
struct ac_journal_words *
ac_journal_map_shared(struct ac_journal *j)
{
	struct stat sb;
	char *lp;
	void *p;
	int fd;

	if (j->sh || j->sh_tried)
		return j->sh;
	j->sh_tried = 1;
	if ((lp = ac_journal_join(j->dir, AC_JOURNAL_FILE ".lock")) == NULL)
		return NULL;
	if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE ".lock", O_RDWR, AC_DATADIR_CREATE)) < 0) {
		ac_log_warn("open %s: %s (appends take a lock instead)", lp, strerror(errno));
		free(lp);
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || ((uint64_t)sb.st_size < SHM_SIZE && ftruncate(fd, SHM_SIZE) != 0) ||
	    (p = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		ac_log_warn("map %s: %s (appends take a lock instead)", lp, strerror(errno));
		close(fd);
		free(lp);
		return NULL;
	}
	close(fd);
	free(lp);
	j->sh = p;
	return j->sh;
}

/* ---------------------------------------------------------------- open, close */

enum ac_err
ac_journal_open(const char *dir, int dfd, enum ac_journal_sync sync, volatile uint64_t *shared,
    struct ac_journal **out)
{
	struct ac_journal *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->dir = strdup(dir)) == NULL || (j->path = ac_journal_join(dir, AC_JOURNAL_FILE)) == NULL) {
		if (j)
			free(j->dir);
		free(j);
		return AC_ERR_NOMEM;
	}
	j->sync = sync;
	j->shared = shared;
	j->wfd = j->rfd = j->nfd = j->lfd = -1;
	/* the directory the store checked, not what the path leads to now (a link in it may have changed) */
	j->dfd = dfd >= 0 ? openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	    : open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (j->dfd < 0) {
		enum ac_err err = ac_journal_io_err("open", dir);

		free(j->dir);
		free(j->path);
		free(j);
		return err;
	}
	*out = j;
	return AC_OK;
}

void
ac_journal_close(struct ac_journal *j)
{
	if (j == NULL)
		return;
	if (j->nfd >= 0)
		ac_journal_rotate_end(j, 0);
	if (j->wfd >= 0)
		close(j->wfd);
	if (j->rfd >= 0)
		close(j->rfd);
	if (j->sh)
		munmap(j->sh, SHM_SIZE);
	close(j->dfd);
	free(j->win);
	free(j->strs);
	free(j->dir);
	free(j->path);
	free(j);
}

/* ---------------------------------------------------------------- appending */

/* An append descriptor on the current file, creating it when there is none. */
static enum ac_err
open_writer(struct ac_journal *j)
{
	char tmp[64];
	uint64_t id;
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		/* two links for a moment where link() gives a new file its name (below) */
		if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE, O_RDWR | O_APPEND, AC_DATADIR_LINKED)) >= 0) {
			if ((id = ac_journal_read_id(fd)) == 0) {
				enum ac_err err = ac_journal_bad_header(j, fd);

				close(fd);
				return err;
			}
			j->wfd = fd;
			j->wid = id;
			return AC_OK;
		}
		if (errno != ENOENT)
			return ac_journal_io_err("open", j->path);
		/*
		 * None yet: make one under a private, unpredictable name, then
		 * give it the name if nobody did meanwhile (neither call follows
		 * a link nor replaces a name). link() where the filesystem cannot
		 * rename without replacing: the file then has two links for a
		 * moment, which openers wait out.
		 */
		snprintf(tmp, sizeof(tmp), AC_JOURNAL_FILE ".new.%016llx", (unsigned long long)ac_journal_new_id());
		if ((fd = ac_journal_create_file(j, tmp, &id)) < 0)
			return ac_journal_io_err("create", j->path);
		close(fd);
		if (renameat2(j->dfd, tmp, j->dfd, AC_JOURNAL_FILE, RENAME_NOREPLACE) == 0) {
			if (j->sync != AC_JOURNAL_SYNC_OFF)
				ac_journal_sync_dir(j);
			continue;
		}
		if (errno == EEXIST) {
			unlinkat(j->dfd, tmp, 0);
			continue;
		}
		if (errno != EINVAL && errno != ENOSYS) {
			enum ac_err err = ac_journal_io_err("rename", j->path);

			unlinkat(j->dfd, tmp, 0);
			return err;
		}
		if (linkat(j->dfd, tmp, j->dfd, AC_JOURNAL_FILE, 0) == 0) {
			if (j->sync != AC_JOURNAL_SYNC_OFF)
				ac_journal_sync_dir(j);
		} else if (errno != EEXIST) {
			enum ac_err err = ac_journal_io_err("link", j->path);

			unlinkat(j->dfd, tmp, 0);
			return err;
		}
		unlinkat(j->dfd, tmp, 0);
	}
	ac_log_error("cannot open %s: it keeps changing", j->path);
	return AC_ERR_STORE;
}

/* end: where the record ends, 0 when not known (then it is flushed, never taken as covered). */
static enum ac_err
flush(struct ac_journal *j, uint64_t end)
{
	uint64_t tag = (j->wid & ((1u << (64 - OFF_BITS)) - 1)) << OFF_BITS, mask = ((uint64_t)1 << OFF_BITS) - 1;
	uint64_t seen, covered;
	struct stat sb;

	if (j->sync == AC_JOURNAL_SYNC_OFF)
		return AC_OK;
	if (j->sync == AC_JOURNAL_SYNC_EACH || j->shared == NULL || end == 0 || end > mask)
		return fdatasync(j->wfd) == 0 ? AC_OK : ac_journal_io_err("fdatasync", j->path);
	seen = __atomic_load_n(j->shared, __ATOMIC_ACQUIRE);
	if ((seen & ~mask) == tag && (seen & mask) >= end)
		return AC_OK; /* a flush that started after our write returned covered it */
	/* everything written before this point goes in this flush */
	covered = fstat(j->wfd, &sb) == 0 && (uint64_t)sb.st_size >= end ? (uint64_t)sb.st_size : end;
	if (fdatasync(j->wfd) != 0)
		return ac_journal_io_err("fdatasync", j->path);
	if (covered <= mask) {
		seen = __atomic_load_n(j->shared, __ATOMIC_ACQUIRE);
		while (((seen & ~mask) != tag || (seen & mask) < covered) &&
		    !__atomic_compare_exchange_n(j->shared, &seen, tag | covered, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
	}
	return AC_OK;
}

void (*ac_journal_test_hook)(int where);

/* The shared flock on the append descriptor, and the file's status under it. */
static enum ac_err
lock_shared(struct ac_journal *j, struct stat *sb)
{
	while (flock(j->wfd, LOCK_SH) != 0)
		if (errno != EINTR)
			return ac_journal_io_err("flock", j->path);
	if (fstat(j->wfd, sb) != 0) {
		enum ac_err err = ac_journal_io_err("fstat", j->path);

		flock(j->wfd, LOCK_UN);
		return err;
	}
	return AC_OK;
}

enum ac_err
ac_journal_append(struct ac_journal *j, time_t received_at, const char *ck, const char *ev, const char *id,
    const char *body, size_t body_len)
{
	size_t ckl = strlen(ck), evl = strlen(ev), idl = strlen(id), len;
	unsigned char rh[REC_HDR], ph[PAY_HDR];
	struct iovec iov[6];
	struct stat sb;
	enum ac_err err;
	uint32_t crc;
	ssize_t n;
	off_t end;
	int tries;

	if (ckl > 0xffff || evl > 0xffff || idl > 0xffff || body_len > (1u << 20))
		return AC_ERR_INVALID;
	len = PAY_HDR + ckl + evl + idl + body_len;
	le_put64(ph, (uint64_t)received_at);
	le_put16(ph + 8, (uint16_t)ckl);
	le_put16(ph + 10, (uint16_t)evl);
	le_put16(ph + 12, (uint16_t)idl);
	le_put16(ph + 14, 0);
	le_put32(ph + 16, (uint32_t)body_len);
	le_put32(ph + 20, 0);
	le_put32(rh, REC_MAGIC);
	le_put32(rh + 4, (uint32_t)len);
	crc = ac_crc32c(0, rh + 4, 4);
	crc = ac_crc32c(crc, ph, sizeof(ph));
	crc = ac_crc32c(crc, ck, ckl);
	crc = ac_crc32c(crc, ev, evl);
	crc = ac_crc32c(crc, id, idl);
	crc = ac_crc32c(crc, body, body_len);
	le_put32(rh + 8, crc);
	iov[0] = (struct iovec){ rh, sizeof(rh) };
	iov[1] = (struct iovec){ ph, sizeof(ph) };
	iov[2] = (struct iovec){ (void *)ck, ckl };
	iov[3] = (struct iovec){ (void *)ev, evl };
	iov[4] = (struct iovec){ (void *)id, idl };
	iov[5] = (struct iovec){ (void *)body, body_len };
	for (tries = 0;; tries++) {
		if (tries > 8) {
			ac_log_error("cannot append to %s: it keeps being replaced", j->path);
			return AC_ERR_STORE;
		}
		if (j->wfd < 0 && (err = open_writer(j)) != AC_OK)
			return err;
		/*
		 * Shared: appends do not wait for each other; a rotation holds
		 * the file exclusively, so it waits for the appends in flight and
		 * new ones wait for it. Under the lock, the link count says
		 * whether a rotation replaced the file meanwhile. The kernel drops
		 * the lock of a process that dies, wherever it dies.
		 */
		if ((err = lock_shared(j, &sb)) != AC_OK)
			return err;
		if (sb.st_nlink == 0) {
			/* rotated away (or removed by hand): append to the file that replaced it */
			flock(j->wfd, LOCK_UN);
			close(j->wfd);
			j->wfd = -1;
			continue;
		}
		if (received_at != j->checked_at) {
			/* once a second: the header changed under us, destroyed (refused) or repaired with another id */
			if (ac_journal_read_id(j->wfd) != j->wid) {
				flock(j->wfd, LOCK_UN);
				close(j->wfd);
				j->wfd = -1;
				continue;
			}
			j->checked_at = received_at;
		}
		if (ac_journal_test_hook)
			ac_journal_test_hook(0);
		n = writev(j->wfd, iov, 6);
		if (ac_journal_test_hook)
			ac_journal_test_hook(1);
		/* where our record ends (O_APPEND: this descriptor's position after it), for the group flush only */
		end = j->sync == AC_JOURNAL_SYNC_GROUP && n == (ssize_t)(REC_HDR + len) ? lseek(j->wfd, 0, SEEK_CUR) : 0;
		flock(j->wfd, LOCK_UN);
		break;
	}
	if (n != (ssize_t)(REC_HDR + len)) {
		/* a short write leaves a torn record: readers skip it once a complete one follows */
		if (n >= 0)
			errno = ENOSPC;
		return ac_journal_io_err("append to", j->path);
	}
	return flush(j, end < 0 ? 0 : (uint64_t)end);
}
