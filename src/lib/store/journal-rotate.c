/* journal-rotate.c: replacing the intake journal once it is moved in, and repairing its header (journal.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/datadir.h"
#include "base/le.h"
#include "base/log.h"
#include "store/journal-int.h"
#include "store/journal.h"

/* A rotator (one at a time: the rotation lock) records that file id was moved in up to end. */
static void
publish_rotation(struct ac_journal_words *sh, uint64_t id, uint64_t end)
{
	uint64_t seq = __atomic_load_n(&sh->rot_seq, __ATOMIC_SEQ_CST);
	unsigned i = (unsigned)(seq % ROT_RING);

	/* an entry is rewritten with its id cleared, so a reader never pairs an id with another's end */
	__atomic_store_n(&sh->rot[i].id, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot[i].end, end, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot[i].id, id, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->rot_seq, seq + 1, __ATOMIC_SEQ_CST);
}

/* ---------------------------------------------------------------- repair */

enum ac_err
ac_journal_repair(struct ac_journal *j, uint64_t id, uint64_t off, uint32_t last_size, uint32_t last_crc,
    uint64_t *used, uint64_t *size)
{
	unsigned char h[AC_JOURNAL_HDR];
	enum ac_err err = AC_OK;
	struct stat sb;
	struct ac_journal_words *sh;
	int fd = -1, lfd;

	*used = 0;
	*size = 0;
	/*
	 * Not while a rotation runs: the rotation lock, without waiting (the
	 * caller holds the store's write lock, which a rotator waits for).
	 */
	if ((lfd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE ".lock", O_RDWR, AC_DATADIR_CREATE)) < 0)
		return ac_journal_io_err("open the rotation lock in", j->dir);
	if (flock(lfd, LOCK_EX | LOCK_NB) != 0) {
		ac_log_error("%s: a rotation holds it; repair again in a moment", j->path);
		err = AC_ERR_STORE;
		goto out;
	}
	/* no O_APPEND: the header is written at offset 0 */
	if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE, O_RDWR, 0)) < 0) {
		err = errno == ENOENT ? AC_ERR_NOT_FOUND : ac_journal_io_err("open", j->path);
		goto out;
	}
	if (fstat(fd, &sb) != 0) {
		err = ac_journal_io_err("fstat", j->path);
		goto out;
	}
	*size = (uint64_t)sb.st_size;
	if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size < AC_JOURNAL_HDR || ac_journal_read_id(fd) != 0) {
		err = AC_ERR_NOT_FOUND;
		goto out;
	}
	/* the file the store was reading, if the record it moved in last is where it says: reading goes on there */
	if (id == 0 || !ac_journal_ends_at(fd, (uint64_t)sb.st_size, off, last_size, last_crc))
		id = ac_journal_new_id();
	memset(h, 0, sizeof(h));
	memcpy(h, FILE_MAGIC, 8);
	le_put32(h + 8, FILE_VERSION);
	le_put64(h + 16, id);
	le_put64(h + 24, (uint64_t)time(NULL));
	if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || fdatasync(fd) != 0) {
		err = ac_journal_io_err("write the header of", j->path);
		goto out;
	}
	/* appenders that knew the file by another id look again (the header check) and follow */
	if ((sh = ac_journal_map_shared(j)) != NULL)
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
		return ac_journal_io_err("open", j->dir);
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
	if (ac_journal_map_shared(j) == NULL)
		return AC_ERR_NOT_FOUND;
	if ((err = lock_rotation(j)) != AC_OK)
		return err;
	if ((j->npath = ac_journal_join(j->dir, AC_JOURNAL_FILE ".next")) == NULL) {
		close(j->lfd);
		j->lfd = -1;
		return AC_ERR_NOMEM;
	}
	/* one a rotator that died left behind (or a name planted there): removed, never opened */
	if (unlinkat(j->dfd, AC_JOURNAL_FILE ".next", 0) != 0 && errno != ENOENT)
		ac_log_warn("unlink %s: %s", j->npath, strerror(errno));
	if ((j->nfd = ac_journal_create_file(j, AC_JOURNAL_FILE ".next", &j->nid)) < 0) {
		err = ac_journal_io_err("create", j->npath);
		free(j->npath);
		j->npath = NULL;
		close(j->lfd);
		j->lfd = -1;
		return err;
	}
	/* waits for the appends that hold the shared lock; new ones wait for us */
	while (flock(j->rfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			err = ac_journal_io_err("flock", j->path);
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
	if (ac_journal_refresh_size(j) != 0) {
		ac_journal_rotate_end(j, 0);
		return ac_journal_io_err("fstat", j->path);
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
			err = ac_journal_io_err("rename", j->npath);
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
					ac_journal_sync_dir(j);
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
