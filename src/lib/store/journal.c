/* journal.c: the intake journal (journal.h): append before the 204, read back into the inbox. */
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
#include "store/journal.h"
#include "base/le.h"
#include "base/log.h"

#define FILE_MAGIC "ACINTAKE"
#define FILE_VERSION 1u
#define REC_MAGIC 0x726a00ffu /* bytes ff 00 6a 72 */
#define REC_HDR 12u           /* magic, length, crc */
#define PAY_HDR 24u           /* received_at, three string lengths, 0, body length, 0 */
#define PAY_MAX (PAY_HDR + 3u * 0xffffu + (1u << 20))
#define WINDOW (1u << 20)     /* bytes read ahead per pread */
#define OFF_BITS 40           /* the shared flush word: file id (24 bits) and offset (40 bits) */

/*
 * Words mapped from intake.journal.lock (the file whose flock admits one
 * rotator at a time), kept for the appenders of earlier builds, which took
 * no lock and read them before and after their write: cur names the current
 * file, rotating the file being replaced, and the ring the files replaced
 * with how far their records were moved into the store, the last ROT_RING
 * of them. Appends of this build hold the shared flock and read none of it;
 * the rotator still writes them, so that a host where programs of both
 * builds run for a while (a rolling restart) loses nothing. Ids are random,
 * never 0, and name one file each.
 */
#define ROT_RING 64
struct shm {
	uint64_t cur, rotating;
	uint64_t rot_seq; /* rotations published */
	struct {
		uint64_t id, end;
	} rot[ROT_RING];
};
#define SHM_SIZE 4096u
_Static_assert(sizeof(struct shm) <= SHM_SIZE, "the shared words fit the mapped page");

struct ac_journal {
	char *dir, *path;
	int dfd;                  /* the directory: every name is opened relative to it, never following links */
	enum ac_journal_sync sync;
	volatile uint64_t *shared;
	struct shm *sh;           /* the words for earlier builds' appenders; NULL: not mapped (yet) */
	int sh_tried;
	time_t checked_at;        /* the second of the last append that looked at the link count */
	/* appending */
	int wfd;
	uint64_t wid;
	/* reading */
	int rfd;
	dev_t rdev;
	ino_t rino;
	uint64_t rid, rsize;
	uint64_t rborn;           /* when the file was made (its header) */
	uint64_t known;           /* in the store up to here, as far as this process knows */
	unsigned char *win;       /* [win_off, win_off + win_len) of the file */
	size_t win_cap, win_len;
	uint64_t win_off;
	char *strs;               /* the record's strings, NUL-terminated */
	size_t strs_cap;
	/* rotating */
	int nfd, lfd;
	char *npath;
	uint64_t nid;
	uint64_t good_end;        /* records up to here are in the store */
	/* damage: what the operator is told (ac_journal_damage), and when it was last logged */
	char damage[384];
	time_t damage_said;
};

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

static char *
join(const char *dir, const char *name)
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

static uint64_t
new_id(void)
{
	uint64_t id = 0;

	if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id))
		id = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	return id ? id : 1;
}

static enum ac_err
io_err(const char *what, const char *path)
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
static uint64_t
read_id(int fd)
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
static enum ac_err
bad_header(struct ac_journal *j, int fd)
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

static void
sync_dir(const struct ac_journal *j)
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
static int
create_file(const struct ac_journal *j, const char *name, uint64_t *id)
{
	unsigned char h[AC_JOURNAL_HDR];
	int fd;

	if ((fd = ac_datadir_openat(j->dfd, j->dir, name, O_RDWR, AC_DATADIR_EXCL)) < 0)
		return -1;
	memset(h, 0, sizeof(h));
	memcpy(h, FILE_MAGIC, 8);
	le_put32(h + 8, FILE_VERSION);
	*id = new_id();
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

/* The shared words (struct shm), mapped once per process; NULL when they cannot be. */
static struct shm *
map_shared(struct ac_journal *j)
{
	struct stat sb;
	char *lp;
	void *p;
	int fd;

	if (j->sh || j->sh_tried)
		return j->sh;
	j->sh_tried = 1;
	if ((lp = join(j->dir, AC_JOURNAL_FILE ".lock")) == NULL)
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

	if (j == NULL || (j->dir = strdup(dir)) == NULL || (j->path = join(dir, AC_JOURNAL_FILE)) == NULL) {
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
		enum ac_err err = io_err("open", dir);

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
			if ((id = read_id(fd)) == 0) {
				enum ac_err err = bad_header(j, fd);

				close(fd);
				return err;
			}
			j->wfd = fd;
			j->wid = id;
			return AC_OK;
		}
		if (errno != ENOENT)
			return io_err("open", j->path);
		/*
		 * None yet: make one under a private, unpredictable name, then
		 * give it the name if nobody did meanwhile (neither call follows
		 * a link nor replaces a name). link() where the filesystem cannot
		 * rename without replacing: the file then has two links for a
		 * moment, which openers wait out.
		 */
		snprintf(tmp, sizeof(tmp), AC_JOURNAL_FILE ".new.%016llx", (unsigned long long)new_id());
		if ((fd = create_file(j, tmp, &id)) < 0)
			return io_err("create", j->path);
		close(fd);
		if (renameat2(j->dfd, tmp, j->dfd, AC_JOURNAL_FILE, RENAME_NOREPLACE) == 0) {
			if (j->sync != AC_JOURNAL_SYNC_OFF)
				sync_dir(j);
			continue;
		}
		if (errno == EEXIST) {
			unlinkat(j->dfd, tmp, 0);
			continue;
		}
		if (errno != EINVAL && errno != ENOSYS) {
			enum ac_err err = io_err("rename", j->path);

			unlinkat(j->dfd, tmp, 0);
			return err;
		}
		if (linkat(j->dfd, tmp, j->dfd, AC_JOURNAL_FILE, 0) == 0) {
			if (j->sync != AC_JOURNAL_SYNC_OFF)
				sync_dir(j);
		} else if (errno != EEXIST) {
			enum ac_err err = io_err("link", j->path);

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
		return fdatasync(j->wfd) == 0 ? AC_OK : io_err("fdatasync", j->path);
	seen = __atomic_load_n(j->shared, __ATOMIC_ACQUIRE);
	if ((seen & ~mask) == tag && (seen & mask) >= end)
		return AC_OK; /* a flush that started after our write returned covered it */
	/* everything written before this point goes in this flush */
	covered = fstat(j->wfd, &sb) == 0 && (uint64_t)sb.st_size >= end ? (uint64_t)sb.st_size : end;
	if (fdatasync(j->wfd) != 0)
		return io_err("fdatasync", j->path);
	if (covered <= mask) {
		seen = __atomic_load_n(j->shared, __ATOMIC_ACQUIRE);
		while (((seen & ~mask) != tag || (seen & mask) < covered) &&
		    !__atomic_compare_exchange_n(j->shared, &seen, tag | covered, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
	}
	return AC_OK;
}

void (*ac_journal_test_hook)(int where);

/* A rotator (one at a time: the rotation lock) records that file id was moved in up to end. */
static void
publish_rotation(struct shm *sh, uint64_t id, uint64_t end)
{
	uint64_t seq = __atomic_load_n(&sh->rot_seq, __ATOMIC_SEQ_CST);
	unsigned i = (unsigned)(seq % ROT_RING);

	/* an entry is rewritten with its id cleared, so a reader never pairs an id with another's end */
	__atomic_store_n(&sh->rot[i].id, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot[i].end, end, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot[i].id, id, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot_seq, seq + 1, __ATOMIC_SEQ_CST);
}

/* The shared flock on the append descriptor, and the file's status under it. */
static enum ac_err
lock_shared(struct ac_journal *j, struct stat *sb)
{
	while (flock(j->wfd, LOCK_SH) != 0)
		if (errno != EINTR)
			return io_err("flock", j->path);
	if (fstat(j->wfd, sb) != 0) {
		enum ac_err err = io_err("fstat", j->path);

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
		 * Shared: appends go on together; a rotation holds the file
		 * exclusively, so it waits for the appends in flight and new ones
		 * wait for it. Under the lock, the link count says whether a
		 * rotation replaced the file meanwhile. The kernel drops the lock
		 * of a process that dies, wherever it dies.
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
			if (read_id(j->wfd) != j->wid) {
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
		return io_err("append to", j->path);
	}
	return flush(j, end < 0 ? 0 : (uint64_t)end);
}

/* ---------------------------------------------------------------- reading */

static int
refresh_size(struct ac_journal *j)
{
	struct stat sb;

	if (fstat(j->rfd, &sb) != 0)
		return -1;
	j->rsize = (uint64_t)sb.st_size;
	return 0;
}

enum ac_err
ac_journal_scan_begin(struct ac_journal *j, uint64_t from_id, uint64_t from_off, uint64_t *id, uint64_t *off)
{
	unsigned char born[8];
	struct stat sb;
	uint64_t rid;
	int fd;

	if (fstatat(j->dfd, AC_JOURNAL_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return AC_ERR_NOT_FOUND;
		return io_err("stat", j->path);
	}
	if (j->rfd < 0 || sb.st_dev != j->rdev || sb.st_ino != j->rino) {
		if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE, O_RDONLY, AC_DATADIR_LINKED)) < 0)
			return errno == ENOENT ? AC_ERR_NOT_FOUND : io_err("open", j->path);
		if (fstat(fd, &sb) != 0 || (rid = read_id(fd)) == 0) {
			enum ac_err err = bad_header(j, fd);

			close(fd);
			/* shorter than a header: nothing to read (yet); else damaged, said once a minute */
			return err == AC_ERR_STORE_DAMAGED ? err : AC_ERR_NOT_FOUND;
		}
		if (j->rfd >= 0)
			close(j->rfd);
		j->rfd = fd;
		j->rdev = sb.st_dev;
		j->rino = sb.st_ino;
		j->rid = rid;
		j->win_len = 0;
	} else if ((rid = read_id(j->rfd)) != j->rid) {
		/* the header changed in place: destroyed, or repaired under another id */
		if (rid == 0)
			return bad_header(j, j->rfd);
		j->rid = rid;
		j->win_len = 0;
	}
	if (refresh_size(j) != 0)
		return io_err("fstat", j->path);
	if (pread(j->rfd, born, sizeof(born), 24) == (ssize_t)sizeof(born))
		j->rborn = le_get64(born);
	*id = j->rid;
	*off = from_id == j->rid && from_off >= AC_JOURNAL_HDR ? from_off : AC_JOURNAL_HDR;
	return AC_OK;
}

void
ac_journal_mark(struct ac_journal *j, uint64_t off)
{
	j->known = off;
}

uint64_t
ac_journal_scanned(const struct ac_journal *j)
{
	return j->rfd >= 0 ? j->rsize : 0;
}

int
ac_journal_has_news(struct ac_journal *j)
{
	struct stat sb;

	if (fstatat(j->dfd, AC_JOURNAL_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return 0;
	if (j->rfd < 0 || sb.st_dev != j->rdev || sb.st_ino != j->rino)
		return 1;
	/* shorter than what is known to be in the store is news too: truncated or restored (ac_journal_matches) */
	return (uint64_t)sb.st_size != j->known;
}

/* The record that ends at off has this size and CRC (read from the file, not the window). */
static int
ends_at(int fd, uint64_t fsize, uint64_t off, uint32_t size, uint32_t crc)
{
	unsigned char h[REC_HDR];

	return size != 0 && off >= AC_JOURNAL_HDR + (uint64_t)size && fsize >= off &&
	    pread(fd, h, sizeof(h), (off_t)(off - size)) == (ssize_t)sizeof(h) && le_get32(h) == REC_MAGIC &&
	    le_get32(h + 4) + REC_HDR == size && le_get32(h + 8) == crc;
}

int
ac_journal_matches(struct ac_journal *j, uint64_t off, uint32_t last_size, uint32_t last_crc)
{
	if (j->rfd < 0 || refresh_size(j) != 0)
		return 1; /* nothing to compare with: reading reports the error */
	/* read past the window: a file rewritten in place would still be in it */
	if (j->rsize >= off && (last_size == 0 || ends_at(j->rfd, j->rsize, off, last_size, last_crc)))
		return 1;
	j->win_len = 0; /* what it read ahead is not the file any more */
	return 0;
}

/* Bytes [off, off + n) of the file, through the read-ahead window; NULL past the end or on error. */
static const unsigned char *
bytes(struct ac_journal *j, uint64_t off, size_t n)
{
	size_t want;
	ssize_t got;

	if (off + n > j->rsize)
		return NULL;
	if (off >= j->win_off && off + n <= j->win_off + j->win_len)
		return j->win + (off - j->win_off);
	want = n > WINDOW ? n : WINDOW;
	if (off + want > j->rsize)
		want = (size_t)(j->rsize - off);
	if (want > j->win_cap) {
		unsigned char *p = realloc(j->win, want);

		if (p == NULL)
			return NULL;
		j->win = p;
		j->win_cap = want;
	}
	got = pread(j->rfd, j->win, want, (off_t)off);
	if (got < (ssize_t)n) {
		j->win_len = 0;
		return NULL;
	}
	j->win_off = off;
	j->win_len = (size_t)got;
	return j->win;
}

/* A complete, intact record at off: its total size, else 0 (-1 when it is only not complete yet). */
static long long
check_at(struct ac_journal *j, uint64_t off)
{
	const unsigned char *h = bytes(j, off, REC_HDR), *p;
	uint32_t len, crc;

	if (h == NULL)
		return -1;
	if (le_get32(h) != REC_MAGIC)
		return 0;
	len = le_get32(h + 4);
	crc = le_get32(h + 8);
	if (len < PAY_HDR || len > PAY_MAX)
		return 0;
	if (off + REC_HDR + len > j->rsize)
		return -1;
	if ((h = bytes(j, off, REC_HDR + len)) == NULL)
		return -1;
	p = h + REC_HDR;
	if (ac_crc32c(ac_crc32c(0, h + 4, 4), p, len) != crc)
		return 0;
	if ((uint64_t)PAY_HDR + le_get16(p + 8) + le_get16(p + 10) + le_get16(p + 12) + le_get32(p + 16) != len)
		return 0;
	return (long long)(REC_HDR + len);
}

/* The first intact record after off, or 0 when none is complete before the end. */
static uint64_t
find_next(struct ac_journal *j, uint64_t off)
{
	static const unsigned char m[4] = { 0xff, 0x00, 0x6a, 0x72 };
	uint64_t at = off + 1;

	while (at + REC_HDR <= j->rsize) {
		size_t n = j->rsize - at > WINDOW ? WINDOW : (size_t)(j->rsize - at);
		const unsigned char *w = bytes(j, at, n), *q;

		if (w == NULL)
			return 0;
		for (q = w; (q = memchr(q, 0xff, n - (size_t)(q - w))) != NULL; q++) {
			uint64_t c = at + (uint64_t)(q - w);

			if ((size_t)(q - w) + 4 <= n && memcmp(q, m, 4) != 0)
				continue;
			if (check_at(j, c) > 0)
				return c;
			/* check_at moved the window: look again from here */
			w = bytes(j, at, n);
			if (w == NULL)
				return 0;
			q = w + (c - at);
		}
		at += n > 3 ? n - 3 : 1;
	}
	return 0;
}

static enum ac_err
fill(struct ac_journal *j, uint64_t off, struct ac_journal_rec *rec)
{
	const unsigned char *h = bytes(j, off, REC_HDR), *p;
	size_t ckl, evl, idl, need;

	if (h == NULL || (h = bytes(j, off, REC_HDR + le_get32(h + 4))) == NULL)
		return AC_ERR_STORE;
	p = h + REC_HDR;
	ckl = le_get16(p + 8);
	evl = le_get16(p + 10);
	idl = le_get16(p + 12);
	need = ckl + evl + idl + 3;
	if (need > j->strs_cap) {
		char *s = realloc(j->strs, need);

		if (s == NULL)
			return AC_ERR_NOMEM;
		j->strs = s;
		j->strs_cap = need;
	}
	rec->received_at = (time_t)le_get64(p);
	rec->offset = off;
	p += PAY_HDR;
	memcpy(j->strs, p, ckl);
	j->strs[ckl] = '\0';
	memcpy(j->strs + ckl + 1, p + ckl, evl);
	j->strs[ckl + 1 + evl] = '\0';
	memcpy(j->strs + ckl + evl + 2, p + ckl + evl, idl);
	j->strs[ckl + evl + 2 + idl] = '\0';
	rec->client_key = j->strs;
	rec->event_key = j->strs + ckl + 1;
	rec->delivery_id = j->strs + ckl + evl + 2;
	rec->body = (const char *)p + ckl + evl + idl;
	rec->body_len = le_get32(h + REC_HDR + 16);
	rec->size = REC_HDR + le_get32(h + 4);
	rec->crc = le_get32(h + 8);
	return AC_OK;
}

enum ac_err
ac_journal_next(struct ac_journal *j, uint64_t *off, struct ac_journal_rec *rec, int final)
{
	long long n;
	uint64_t next;

	if (j->rfd < 0)
		return AC_ERR_NOT_FOUND;
	if (j->nfd >= 0 && j->good_end == 0)
		j->good_end = *off; /* a rotation's first read starts where the store is */
	if (*off >= j->rsize && refresh_size(j) != 0)
		return io_err("fstat", j->path);
	n = check_at(j, *off);
	if (n == -1 && refresh_size(j) == 0)
		n = check_at(j, *off);
	if (n > 0) {
		enum ac_err err = fill(j, *off, rec);

		if (err == AC_OK) {
			*off += (uint64_t)n;
			if (j->nfd >= 0)
				j->good_end = *off;
		}
		return err;
	}
	if (*off >= j->rsize)
		return AC_ERR_NOT_FOUND;
	/*
	 * Not an intact record here: either one still being written (wait), or
	 * torn by a writer that died or failed (skip it once something intact
	 * follows: appends are serialised, so it can never be completed).
	 */
	if ((next = find_next(j, *off)) != 0) {
		ac_log_warn("%s: skipped %llu bytes at offset %llu that are no intact record (an append that never "
		    "finished, not acknowledged; or damage to the file)", j->path, (unsigned long long)(next - *off),
		    (unsigned long long)*off);
		*off = next;
		return ac_journal_next(j, off, rec, final);
	}
	if (final)
		ac_log_warn("%s: %llu bytes at the end, offset %llu, are not a complete record: an append that never "
		    "finished (not acknowledged), or one of an earlier build in flight (it appends it again to the next file)",
		    j->path, (unsigned long long)(j->rsize - *off), (unsigned long long)*off);
	return AC_ERR_NOT_FOUND;
}

uint64_t
ac_journal_born(const struct ac_journal *j)
{
	return j->rfd >= 0 ? j->rborn : 0;
}

const char *
ac_journal_damage(const struct ac_journal *j)
{
	return j->damage[0] ? j->damage : NULL;
}

enum ac_err
ac_journal_repair(struct ac_journal *j, uint64_t id, uint64_t off, uint32_t last_size, uint32_t last_crc,
    uint64_t *used, uint64_t *size)
{
	unsigned char h[AC_JOURNAL_HDR];
	enum ac_err err = AC_OK;
	struct stat sb;
	struct shm *sh;
	int fd = -1, lfd;

	*used = 0;
	*size = 0;
	/*
	 * Not while a rotation runs: the rotation lock, without waiting (the
	 * caller holds the store's write lock, which a rotator waits for).
	 */
	if ((lfd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE ".lock", O_RDWR, AC_DATADIR_CREATE)) < 0)
		return io_err("open the rotation lock in", j->dir);
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		ac_log_error("%s: a rotation holds it; repair again in a moment", j->path);
		err = AC_ERR_STORE;
		goto out;
	}
	/* no O_APPEND: the header is written at offset 0 */
	if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE, O_RDWR, 0)) < 0) {
		err = errno == ENOENT ? AC_ERR_NOT_FOUND : io_err("open", j->path);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		err = io_err("fstat", j->path);
		goto out;
	}
	*size = (uint64_t)sb.st_size;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < AC_JOURNAL_HDR || read_id(fd) != 0) {
		err = AC_ERR_NOT_FOUND;
		goto out;
	}
	/* the file the store was reading, if the record it moved in last is where it says: reading goes on there */
	if (id == 0 || !ends_at(fd, (uint64_t)sb.st_size, off, last_size, last_crc))
		id = new_id();
	memset(h, 0, sizeof(h));
	memcpy(h, FILE_MAGIC, 8);
	le_put32(h + 8, FILE_VERSION);
	le_put64(h + 16, id);
	le_put64(h + 24, (uint64_t)time(NULL));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || fdatasync(fd) != 0) {
		err = io_err("write the header of", j->path);
		goto out;
	}
	/* appenders that knew the file by another id look again (the header check) and follow */
	if ((sh = map_shared(j)) != NULL)
		__atomic_store_n(&sh->cur, id, __ATOMIC_SEQ_CST);
	*used = id;
	j->damage[0] = '\0';
out:
	if (fd >= 0)
		close(fd);
	close(lfd);
	return err;
}

/* ---------------------------------------------------------------- rotation */

/*
 * One rotation at a time on the host (intake.journal.lock), and only of the
 * file this process has been reading, still the current one: a second
 * rotator would otherwise replace the file that the first just put in place.
 */
static enum ac_err
lock_rotation(struct ac_journal *j)
{
	struct stat sb;

	if ((j->lfd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE ".lock", O_RDWR, AC_DATADIR_CREATE)) < 0)
		return io_err("open", j->dir);
	if (flock(j->lfd, LOCK_EX | LOCK_NB) != 0 ||
	    fstatat(j->dfd, AC_JOURNAL_FILE, &sb, AT_SYMLINK_NOFOLLOW) != 0 || sb.st_dev != j->rdev ||
	    sb.st_ino != j->rino) {
		close(j->lfd);
		j->lfd = -1;
		return AC_ERR_NOT_FOUND; /* another rotation runs or ran: not now */
	}
	return AC_OK;
}

enum ac_err
ac_journal_rotate_begin(struct ac_journal *j)
{
	enum ac_err err;

	if (j->rfd < 0 || j->nfd >= 0)
		return AC_ERR_INVALID;
	/* appenders of earlier builds learn of the rotation only through the words: none mapped, no rotation */
	if (map_shared(j) == NULL)
		return AC_ERR_NOT_FOUND;
	if ((err = lock_rotation(j)) != AC_OK)
		return err;
	if ((j->npath = join(j->dir, AC_JOURNAL_FILE ".next")) == NULL) {
		close(j->lfd);
		j->lfd = -1;
		return AC_ERR_NOMEM;
	}
	/* one a rotator that died left behind (or a name planted there): removed, never opened */
	if (unlinkat(j->dfd, AC_JOURNAL_FILE ".next", 0) != 0 && errno != ENOENT)
		ac_log_warn("unlink %s: %s", j->npath, strerror(errno));
	if ((j->nfd = create_file(j, AC_JOURNAL_FILE ".next", &j->nid)) < 0) {
		err = io_err("create", j->npath);
		free(j->npath);
		j->npath = NULL;
		close(j->lfd);
		j->lfd = -1;
		return err;
	}
	/* waits for the appends that hold the shared lock; new ones wait for us */
	while (flock(j->rfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err = io_err("flock", j->path);
			ac_journal_rotate_end(j, 0);
			return err;
		}
	}
	/*
	 * Appends of this build are all in the file now, and the next ones
	 * wait. An earlier build's appender, which took no lock, looks at
	 * rotating after its write: one that saw it unset wrote before this
	 * store, so what we read next has its record; one that sees it set
	 * waits for us and appends again unless publish_rotation() says we
	 * moved its record in.
	 */
	j->good_end = 0;
	__atomic_store_n(&j->sh->rotating, j->rid, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (refresh_size(j) != 0) {
		ac_journal_rotate_end(j, 0);
		return io_err("fstat", j->path);
	}
	return AC_OK;
}

enum ac_err
ac_journal_rotate_end(struct ac_journal *j, int replace)
{
	enum ac_err err = AC_OK;

	if (j->nfd < 0)
		return AC_ERR_INVALID;
	if (replace) {
		/* what an earlier build's late appender checks: whether its record made it in before the file went */
		publish_rotation(j->sh, j->rid, j->good_end);
		/* appenders holding the old file see it unlinked and reopen the name */
		if (renameat(j->dfd, AC_JOURNAL_FILE ".next", j->dfd, AC_JOURNAL_FILE) != 0) {
			err = io_err("rename", j->npath);
			unlinkat(j->dfd, AC_JOURNAL_FILE ".next", 0);
		} else {
			struct stat a, b;

			/*
			 * rename() moves names, never what a link points to; one
			 * swapped in under .next is now the journal's name, and
			 * every later open refuses it (not a regular file of ours).
			 */
			if (fstat(j->nfd, &a) == 0 && (fstatat(j->dfd, AC_JOURNAL_FILE, &b, AT_SYMLINK_NOFOLLOW) != 0 ||
			    a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
				ac_log_error("%s was replaced by another file while it was being renamed: it is refused "
				    "until removed", j->npath);
				err = AC_ERR_STORE;
			} else {
				if (j->sync != AC_JOURNAL_SYNC_OFF)
					sync_dir(j);
				__atomic_store_n(&j->sh->cur, j->nid, __ATOMIC_SEQ_CST);
			}
		}
	} else {
		unlinkat(j->dfd, AC_JOURNAL_FILE ".next", 0);
	}
	if (j->sh && __atomic_load_n(&j->sh->rotating, __ATOMIC_SEQ_CST) == j->rid)
		__atomic_store_n(&j->sh->rotating, 0, __ATOMIC_SEQ_CST);
	flock(j->rfd, LOCK_UN);
	close(j->nfd);
	j->nfd = -1;
	free(j->npath);
	j->npath = NULL;
	close(j->lfd); /* releases the rotation lock */
	j->lfd = -1;
	return err;
}
