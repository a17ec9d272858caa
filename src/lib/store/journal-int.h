/*
 * journal-int.h: what the files of the intake journal share (journal.c
 * appends, journal-scan.c reads, journal-rotate.c replaces and repairs):
 * the file format's constants, the handle, and the helpers on its files.
 * Not for use outside them; journal.h is the interface.
 */
#ifndef AC_JOURNAL_INT_H
#define AC_JOURNAL_INT_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "store/journal.h"

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
struct ac_journal_words {
	uint64_t cur, rotating;
	uint64_t rot_seq; /* rotations published */
	struct {
		uint64_t id, end;
	} rot[ROT_RING];
};
#define SHM_SIZE 4096u
_Static_assert(sizeof(struct ac_journal_words) <= SHM_SIZE, "the words fit the mapped page");

struct ac_journal {
	char *dir, *path;
	int dfd;                  /* the directory: every name is opened relative to it, never following links */
	enum ac_journal_sync sync;
	volatile uint64_t *shared;
	struct ac_journal_words *sh;           /* the words for earlier builds' appenders; NULL: not mapped (yet) */
	int sh_tried;
	time_t checked_at;        /* the second of the last append that looked at the header */
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

/* dir/name, malloc'ed; NULL when out of memory. */
char *ac_journal_join(const char *dir, const char *name);
/* A random file id, never 0. */
uint64_t ac_journal_new_id(void);
/* Logs errno's failure of what on path (once a minute); AC_ERR_STORE_FULL when the disk is full, else AC_ERR_STORE. */
enum ac_err ac_journal_io_err(const char *what, const char *path);
/* The file's id from its header, or 0 when it is not a journal (yet). */
uint64_t ac_journal_read_id(int fd);
/* A file under the journal's name whose header is not a journal's: AC_ERR_STORE_DAMAGED (said) or AC_ERR_STORE. */
enum ac_err ac_journal_bad_header(struct ac_journal *j, int fd);
void ac_journal_sync_dir(const struct ac_journal *j);
/* A new journal file named name in the directory, header written (and flushed unless AC_SYNC is off): its descriptor, or -1. */
int ac_journal_create_file(const struct ac_journal *j, const char *name, uint64_t *id);
/* The words for earlier builds' appenders, mapped once per process; NULL when they cannot be. */
struct ac_journal_words *ac_journal_map_shared(struct ac_journal *j);
/* The reading descriptor's size into j->rsize: 0, or -1 (errno). */
int ac_journal_refresh_size(struct ac_journal *j);
/* Whether the record that ends at off in fd (of size fsize) has this size and CRC. */
int ac_journal_ends_at(int fd, uint64_t fsize, uint64_t off, uint32_t size, uint32_t crc);

#endif
