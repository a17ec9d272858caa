/* datadir.h: files in AC_DATA_DIR, opened so that a name planted there cannot lead elsewhere. */
#ifndef AC_DATADIR_H
#define AC_DATADIR_H

#include <sys/stat.h>
#include <sys/types.h>

#include "base/err.h"

/*
 * The data directory belongs to the app's user, who can put any name in it:
 * a symbolic link or a hard link to a file of root's, a FIFO. Whoever opens a
 * file there (the programs, a root acctl) therefore opens it relative to a
 * descriptor of the directory, never follows a link (O_NOFOLLOW), creates
 * names only with O_EXCL, and uses what it opened only when it is a regular
 * file owned by the directory's owner (and, for a file that is only ever
 * known by one name, with one link: a hard link to an outside file has two).
 * Ownership is fixed on descriptors (fchown), never on paths.
 */

/*
 * The directory dir, opened O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC; its status
 * in *st. With tighten, a directory this process owns is first made 0700.
 * Refused (logged, -1 with errno set) when the last component is a symbolic
 * link or not a directory, or when group or others may write the directory
 * (they could plant names in it). The caller closes the descriptor.
 */
int ac_datadir_open(const char *dir, int tighten, struct stat *st);

/* how for ac_datadir_openat() */
#define AC_DATADIR_CREATE 1u /* create the name (O_EXCL, 0600) when it is absent */
#define AC_DATADIR_EXCL   2u /* only create: the name must not exist */
#define AC_DATADIR_LINKED 4u /* a second link for a moment is expected (a file given its name by link()) */

/*
 * name in the directory dfd (dir: its path, for messages), opened with oflags
 * (O_RDONLY, O_RDWR, O_APPEND; never O_CREAT or O_TRUNC, added by how) plus
 * O_NOFOLLOW | O_CLOEXEC. An existing file is used only when it is regular,
 * owned by the directory's owner, and has one link, and when it is still
 * there under name once that count is read (ac_datadir_usable()); a name
 * removed or replaced meanwhile is opened again. With AC_DATADIR_LINKED, a
 * second link is waited out for a few milliseconds. Otherwise the refusal is
 * logged and -1 returned with errno ELOOP (a link), EPERM, or EAGAIN (the
 * name kept changing). A file this call creates is given to the directory's
 * owner (fchown, when running as root). -1 with errno ENOENT when absent and
 * not created. The caller closes the descriptor.
 */
int ac_datadir_openat(int dfd, const char *dir, const char *name, int oflags, unsigned how);

/*
 * Whether name in dfd, when it exists, may be opened by a library that opens
 * by path (LMDB): AC_OK when absent or a regular file owned by the
 * directory's owner with one link; AC_ERR_STORE (logged) otherwise.
 */
enum ac_err ac_datadir_check(int dfd, const char *dir, const char *name);

/*
 * Whether fd, opened as name in the directory dfd owned by owner, is a file
 * that may be used: regular, owned by owner, one link, and still there
 * under name after the count was read (the count alone is not enough: a hard
 * link planted to a file elsewhere, removed once opened, leaves that file
 * with one). Logs the refusal (errno EPERM) and returns -1; 0 when usable.
 */
int ac_datadir_usable(int dfd, int fd, const char *dir, const char *name, uid_t owner);

/*
 * A path that leads to the directory dfd itself, for a library that opens
 * files by path (LMDB): "/proc/self/fd/N" (written to buf, of size n) when
 * /proc shows that it does, else dir. The path to the data directory may
 * pass through links that its owner can change (a parent directory of its
 * own); through the descriptor, what was checked is what is opened. Good
 * while dfd is open.
 */
const char *ac_datadir_fd_path(int dfd, const char *dir, char *buf, size_t n);

/*
 * A root acctl acts as the owner of the data directory: when this process
 * runs as root and dir (or, when it does not exist yet, its nearest existing
 * parent) belongs to another user, it switches to that user and the
 * directory's group for good (setgroups, setgid, setuid), so that nothing it
 * does in the directory can reach a file its owner could not. AC_OK when
 * done or not needed; AC_ERR_IO (logged) when the switch failed: then the
 * caller must not go on. When it stays root (the directory is root's), a
 * later ac_datadir_open() as root refuses a directory of another user: a
 * link in the path was changed between the two looks, to make root work in
 * a directory whose owner can plant names there.
 */
enum ac_err ac_datadir_become_owner(const char *dir);

#endif
