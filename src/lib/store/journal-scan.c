/* journal-scan.c: reading the intake journal back (journal.h): records past torn bytes, cut-back files. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/datadir.h"
#include "base/le.h"
#include "base/log.h"
#include "store/journal-int.h"
#include "store/journal.h"

/* ---------------------------------------------------------------- reading */

int
ac_journal_refresh_size(struct ac_journal *j)
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
		return ac_journal_io_err("stat", j->path);
	}
	if (j->rfd < 0 || sb.st_dev != j->rdev || sb.st_ino != j->rino) {
		if ((fd = ac_datadir_openat(j->dfd, j->dir, AC_JOURNAL_FILE, O_RDONLY, AC_DATADIR_LINKED)) < 0)
			return errno == ENOENT ? AC_ERR_NOT_FOUND : ac_journal_io_err("open", j->path);
		if (fstat(fd, &sb) != 0 || (rid = ac_journal_read_id(fd)) == 0) {
			enum ac_err err = ac_journal_bad_header(j, fd);

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
	} else if ((rid = ac_journal_read_id(j->rfd)) != j->rid) {
		/* the header changed in place: destroyed, or repaired under another id */
		if (rid == 0)
			return ac_journal_bad_header(j, j->rfd);
		j->rid = rid;
		j->win_len = 0;
	}
	if (ac_journal_refresh_size(j) != 0)
		return ac_journal_io_err("fstat", j->path);
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
int
ac_journal_ends_at(int fd, uint64_t fsize, uint64_t off, uint32_t size, uint32_t crc)
{
	unsigned char h[REC_HDR];

	return size != 0 && off >= AC_JOURNAL_HDR + (uint64_t)size && fsize >= off &&
	    pread(fd, h, sizeof(h), (off_t)(off - size)) == (ssize_t)sizeof(h) && le_get32(h) == REC_MAGIC &&
	    le_get32(h + 4) + REC_HDR == size && le_get32(h + 8) == crc;
}

int
ac_journal_matches(struct ac_journal *j, uint64_t off, uint32_t last_size, uint32_t last_crc)
{
	if (j->rfd < 0 || ac_journal_refresh_size(j) != 0)
		return 1; /* nothing to compare with: reading reports the error */
	/* read past the window: a file rewritten in place would still be in it */
	if (j->rsize >= off && (last_size == 0 || ac_journal_ends_at(j->rfd, j->rsize, off, last_size, last_crc)))
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
	if (*off >= j->rsize && ac_journal_refresh_size(j) != 0)
		return ac_journal_io_err("fstat", j->path);
	n = check_at(j, *off);
	if (n == -1 && ac_journal_refresh_size(j) == 0)
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
