/* datadir.c: files in AC_DATA_DIR without following what its owner planted there (datadir.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/datadir.h"
#include "base/log.h"

/* ac_datadir_become_owner() left this process root: the data directory was root's */
static int stayed_root;

int
ac_datadir_open(const char *dir, int tighten, struct stat *st)
{
	size_t n = strlen(dir);
	char *p;
	int fd, e;

	/* "dir/" would follow a link named dir: the name without its trailing slashes */
	if ((p = strdup(dir)) == NULL)
		return -1;
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	/* O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR */
	if (fd < 0 && e == ENOTDIR && lstat(p, st) == 0 && S_ISLNK(st->st_mode))
		e = ELOOP;
	free(p);
	if (fd < 0) {
		if (e == ELOOP || e == ENOTDIR)
			ac_log_error("%s is %s: refused (set AC_DATA_DIR to a real directory)", dir,
			    e == ELOOP ? "a symbolic link" : "not a directory");
		else
			ac_log_error("open %s: %s", dir, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, st) != 0) {
		e = errno;
		ac_log_error("fstat %s: %s", dir, strerror(e));
		goto fail;
	}
	if (stayed_root && geteuid() == 0 && st->st_uid != 0) {
		ac_log_error("%s belongs to uid %ld, but was root's when acctl chose whom to act as (a link in "
		    "its path changed meanwhile?): refused", dir, (long)st->st_uid);
		e = EPERM;
		goto fail;
	}
	if (tighten && (st->st_mode & 077) && st->st_uid == geteuid()) {
		if (fchmod(fd, 0700) == 0)
			st->st_mode &= ~(mode_t)077;
		else
			ac_log_warn("chmod 0700 %s: %s", dir, strerror(errno));
	}
	if (st->st_mode & 022) {
		ac_log_error("%s may be written by %s: refused (chmod 0700 it; anyone who can write it can "
		    "plant links to other files there)", dir, st->st_mode & 002 ? "every user" : "its group");
		e = EPERM;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	errno = e;
	return -1;
}

/* what fd, opened as name in dfd, turned out to be */
enum verdict {
	USABLE,
	MOVED,     /* name no longer leads to it: removed or replaced since it was opened */
	TWO_LINKS, /* regular, the owner's, and two links */
	REFUSED,   /* *why says why */
	FAILED     /* fstat or fstatat failed: errno */
};

/*
 * Takes and drops the directory's lock, as removing a name in it does (the
 * name never exists; an empty directory planted under it goes): a removal or
 * replacement of a name there that had begun has ended, names and link
 * counts both. Within one, the count drops before the name goes.
 */
static void
barrier(int dfd)
{
	(void)unlinkat(dfd, ".ac-barrier", AT_REMOVEDIR);
}

/*
 * Whether fd, opened through name in dfd, is still known by that very entry
 * there: /proc/self/fd shows the path of the entry a file was opened through,
 * with " (deleted)" after it once that entry was removed or replaced (and a
 * removed entry never comes back; a new link is another entry). 1 when it
 * is, 0 when not, -1 when /proc cannot tell.
 */
static int
still_named(int dfd, int fd, const char *name)
{
	char p[32], dpath[PATH_MAX], fpath[PATH_MAX];
	size_t nl = strlen(name);
	ssize_t dn, fn;

	snprintf(p, sizeof(p), "/proc/self/fd/%d", dfd);
	if ((dn = readlink(p, dpath, sizeof(dpath))) <= 0 || (size_t)dn >= sizeof(dpath))
		return -1;
	if (dn == 1)
		dn = 0; /* "/": no second slash */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	if ((fn = readlink(p, fpath, sizeof(fpath))) <= 0 || (size_t)fn >= sizeof(fpath))
		return 0;
	return (size_t)fn == (size_t)dn + 1 + nl && memcmp(fpath, dpath, (size_t)dn) == 0 && fpath[dn] == '/' &&
	    memcmp(fpath + dn + 1, name, nl) == 0;
}

/*
 * The link count of what was opened says nothing on its own, nor does a
 * second look at the name: the name can be removed after the open, and a
 * hard link planted to a file elsewhere then leaves that file with its own
 * name only, one link; and fstatat finds a name and reads the count a moment
 * apart, within which the name can go. A file elsewhere keeps its name there
 * (the owner of the data directory changes names in it, not elsewhere), so
 * the entry the file was opened through, while there, is a second link. The
 * count is read first; then the barrier lets a removal of that entry in
 * flight end; then the entry must still be there, under name in the
 * directory (still_named()). An entry there at the end was there all along,
 * and counted. What is left: an entry moved to another directory of the
 * owner's on the same file system, removed there in flight while the data
 * directory is renamed in its place (its parent writable); without /proc,
 * the fstatat look and its moment. The owner check holds whatever the names
 * do: a file's owner does not change with them.
 */
static enum verdict
judge(int dfd, int fd, const char *name, uid_t owner, struct stat *f, const char **why)
{
	struct stat n;
	int named;

	*why = NULL;
	if (fstat(fd, f) != 0)
		return FAILED;
	if (!S_ISREG(f->st_mode))
		*why = "is not a regular file";
	else if (f->st_uid != owner)
		*why = "belongs to another user than the data directory";
	else if (f->st_nlink == 2)
		return TWO_LINKS;
	else if (f->st_nlink != 1)
		*why = "has other links (a hard link to a file elsewhere)";
	if (*why)
		return REFUSED;
	barrier(dfd);
	if ((named = still_named(dfd, fd, name)) == 0)
		return MOVED;
	if (named < 0) {
		if (fstatat(dfd, name, &n, AT_SYMLINK_NOFOLLOW) != 0)
			return errno == ENOENT ? MOVED : FAILED;
		if (n.st_dev != f->st_dev || n.st_ino != f->st_ino)
			return MOVED;
		if (n.st_nlink == 2)
			return TWO_LINKS;
		if (n.st_nlink != 1) {
			*why = "has other links (a hard link to a file elsewhere)";
			return REFUSED;
		}
	}
	return USABLE;
}

static void
refuse(const char *dir, const char *name, const char *why)
{
	ac_log_error_rare("%s/%s %s: refused (remove it; the data directory's owner may have planted it)", dir, name,
	    why);
	errno = EPERM;
}

int
ac_datadir_usable(int dfd, int fd, const char *dir, const char *name, uid_t owner)
{
	struct stat f;
	const char *why;

	switch (judge(dfd, fd, name, owner, &f, &why)) {
	case USABLE:
		return 0;
	case FAILED:
		ac_log_error("stat %s/%s: %s", dir, name, strerror(errno));
		return -1;
	case MOVED:
		why = "was removed or replaced while it was being opened";
		break;
	case TWO_LINKS:
		why = "has other links (a hard link to a file elsewhere)";
		break;
	case REFUSED:
		break;
	}
	refuse(dir, name, why);
	return -1;
}

int
ac_datadir_openat(int dfd, const char *dir, const char *name, int oflags, unsigned how)
{
	struct stat d;
	int fd, tries, e;

	oflags &= ~(O_CREAT | O_EXCL | O_TRUNC);
	if (fstat(dfd, &d) != 0)
		return -1;
	for (tries = 0; tries < 8; tries++) {
		if (!(how & AC_DATADIR_EXCL)) {
			/* O_NONBLOCK: opening a FIFO planted under the name must not hang */
			fd = openat(dfd, name, oflags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0) {
				struct timespec ts = { 0, 2000000L };
				struct stat f;
				const char *why;

				switch (judge(dfd, fd, name, d.st_uid, &f, &why)) {
				case USABLE:
					/* back to blocking I/O (a regular file ignores it, but flock and friends read clearer) */
					fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
					return fd;
				case MOVED:
					/* the name changed since the open: look again at what it is now */
					close(fd);
					continue;
				case TWO_LINKS:
					/*
					 * A file given its name by link() has two until its
					 * maker removes the private one, at once; a hard link
					 * planted to a file elsewhere stays.
					 */
					close(fd);
					if (!(how & AC_DATADIR_LINKED) || tries == 7) {
						refuse(dir, name, "has other links (a hard link to a file elsewhere)");
						return -1;
					}
					nanosleep(&ts, NULL);
					continue;
				case REFUSED:
					close(fd);
					refuse(dir, name, why);
					return -1;
				case FAILED:
					e = errno;
					ac_log_error("stat %s/%s: %s", dir, name, strerror(e));
					close(fd);
					errno = e;
					return -1;
				}
			}
			if (errno == ELOOP) {
				ac_log_error_rare("%s/%s is a symbolic link: refused (remove it; the data directory's owner "
				    "may have planted it)", dir, name);
				errno = ELOOP;
				return -1;
			}
			if (errno != ENOENT || !(how & AC_DATADIR_CREATE))
				return -1;
		}
		/* a name that appears meanwhile (another process, or a link planted there) is never opened by this */
		fd = openat(dfd, name, oflags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			/* root (acctl) must leave a file the directory's owner can use */
			if (geteuid() == 0 && d.st_uid != 0 && fchown(fd, d.st_uid, d.st_gid) != 0) {
				e = errno;
				ac_log_error("chown %s/%s: %s", dir, name, strerror(e));
				close(fd);
				unlinkat(dfd, name, 0);
				errno = e;
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST || (how & AC_DATADIR_EXCL))
			return -1;
	}
	ac_log_error_rare("%s/%s keeps changing (removed, replaced, created): refused", dir, name);
	errno = EAGAIN;
	return -1;
}

enum ac_err
ac_datadir_check(int dfd, const char *dir, const char *name)
{
	struct stat d, sb;
	const char *why = NULL;

	if (fstat(dfd, &d) != 0) {
		ac_log_error("fstat %s: %s", dir, strerror(errno));
		return AC_ERR_STORE;
	}
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return AC_OK;
		ac_log_error("stat %s/%s: %s", dir, name, strerror(errno));
		return AC_ERR_STORE;
	}
	if (S_ISLNK(sb.st_mode))
		why = "is a symbolic link";
	else if (!S_ISREG(sb.st_mode))
		why = "is not a regular file";
	else if (sb.st_uid != d.st_uid)
		why = "belongs to another user than the data directory";
	else if (sb.st_nlink != 1)
		why = "has other links (a hard link to a file elsewhere)";
	if (why) {
		ac_log_error("%s/%s %s: refused (remove it; the data directory's owner may have planted it)", dir,
		    name, why);
		return AC_ERR_STORE;
	}
	return AC_OK;
}

const char *
ac_datadir_fd_path(int dfd, const char *dir, char *buf, size_t n)
{
	struct stat a, b;

	snprintf(buf, n, "/proc/self/fd/%d", dfd);
	if (fstat(dfd, &a) == 0 && stat(buf, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return buf;
	return dir;
}

enum ac_err
ac_datadir_become_owner(const char *dir)
{
	struct stat st;
	char *p, *slash;
	gid_t gid;

	if (geteuid() != 0)
		return AC_OK;
	if ((p = strdup(*dir ? dir : ".")) == NULL)
		return AC_ERR_NOMEM;
	/* the directory, or where it would be created */
	while (stat(p, &st) != 0) {
		/* nothing left to climb (the working directory itself is gone): no owner to become */
		if ((errno != ENOENT && errno != ENOTDIR) || !strcmp(p, ".") || !strcmp(p, "/")) {
			ac_log_error("stat %s: %s", p, strerror(errno));
			free(p);
			return AC_ERR_IO;
		}
		while ((slash = strrchr(p, '/')) != NULL && slash > p && slash[1] == '\0')
			*slash = '\0';
		if ((slash = strrchr(p, '/')) == NULL) {
			free(p);
			if ((p = strdup(".")) == NULL)
				return AC_ERR_NOMEM;
		} else if (slash == p) {
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
	if (st.st_uid == 0) {
		stayed_root = 1;
		free(p);
		return AC_OK;
	}
	gid = st.st_gid;
	if (setgroups(1, &gid) != 0 || setgid(gid) != 0 || setuid(st.st_uid) != 0 || setuid(0) == 0 ||
	    geteuid() != st.st_uid || getegid() != gid) {
		ac_log_error("cannot act as the owner (uid %ld, gid %ld) of %s: %s", (long)st.st_uid, (long)gid, p,
		    strerror(errno));
		free(p);
		return AC_ERR_IO;
	}
	free(p);
	return AC_OK;
}
