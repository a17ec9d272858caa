/*
 * journal.h: the intake journal. webhook.fcgi appends each verified event to
 * one append-only file (AC_DATA_DIR/intake.journal) and flushes it (AC_SYNC)
 * before the 204; whoever drains the inbox moves the journal's records into
 * the LMDB inbox, in file order, many per transaction, and records how far it
 * got in the same transaction (ingest.c, ac_inbox_ingest). README.md, "Webhooks:
 * the intake journal, then the inbox", says why it departs from committing each
 * event to LMDB before the 204.
 *
 * File: a 32-byte header (magic "ACINTAKE", version, a random 64-bit id that
 * names this file) and records: u32 magic 0x726a00ff ("\xff\0jr"), u32 payload
 * length, u32 CRC-32C of the length and the payload, then the payload: u64
 * received_at, u16 clientKey length, u16 event key length, u16 delivery id
 * length, u16 0, u32 body length, u32 0, the three strings and the body. All
 * little-endian. The magic cannot occur inside a record's strings or its body
 * (JSON, checked before: no 0xff, no NUL).
 *
 * Writers append with one writev on an O_APPEND descriptor while holding a
 * shared flock on the file, so records never interleave and a rotation
 * (which takes the file exclusively) never cuts one: it waits for the
 * appends in flight, and the appends after it find the file unlinked and
 * move to the new one. The kernel releases the lock of a process that dies,
 * so a writer killed anywhere blocks nobody. A writer killed mid-write
 * leaves a torn record: it is skipped once a complete record follows it
 * (writes are serialised, so the torn one can never complete); at a
 * rotation, a torn tail stays behind in the old file. The rotator also
 * keeps words in the mapped intake.journal.lock for the appenders of
 * earlier builds, which took no lock: a host may run programs of both
 * builds at once.
 */
#ifndef AC_JOURNAL_H
#define AC_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "base/err.h"

#define AC_JOURNAL_FILE "intake.journal"
#define AC_JOURNAL_HDR 32u
/* rotate once everything is moved and the file is at least this large */
#define AC_JOURNAL_ROTATE_BYTES ((uint64_t)64 << 20)

enum ac_journal_sync {
	AC_JOURNAL_SYNC_OFF,   /* no flush */
	AC_JOURNAL_SYNC_GROUP, /* fdatasync, shared by writers whose records one flush covers */
	AC_JOURNAL_SYNC_EACH,  /* one fdatasync per record (for comparison) */
};

struct ac_journal;

/* One record, as read back: strings NUL-terminated, the body not (body_len). Valid until the next read. */
struct ac_journal_rec {
	time_t received_at;
	const char *client_key, *event_key, *delivery_id;
	const char *body;
	size_t body_len;
	uint64_t offset; /* where it starts in the file */
	uint32_t size;   /* its bytes in the file, header included */
	uint32_t crc;    /* its CRC-32C, as written in its header */
};

/*
 * State for dir's journal (no file is touched yet). dfd, when not -1, is a
 * descriptor of dir (the caller keeps it): the journal works in that very
 * directory, whatever dir's path leads to later. shared, when not NULL, is
 * a word in memory shared by every process of the store: the group flush
 * records there how far a completed flush reached.
 */
enum ac_err ac_journal_open(const char *dir, int dfd, enum ac_journal_sync sync, volatile uint64_t *shared,
    struct ac_journal **out);
void ac_journal_close(struct ac_journal *j);

/* Appends one record (creating the file when there is none) and flushes as configured. */
enum ac_err ac_journal_append(struct ac_journal *j, time_t received_at, const char *client_key,
    const char *event_key, const char *delivery_id, const char *body, size_t body_len);

/*
 * Reading. ac_journal_scan_begin() looks at the current file: its id and the
 * offset to read from (from_off when from_id names it, else its first record:
 * a store that last read another file read all of it before that file was
 * replaced). AC_ERR_NOT_FOUND when there is no journal; AC_ERR_STORE_DAMAGED
 * when its header is destroyed (ac_journal_damage says it; logged once a
 * minute). Appends to such a file are refused with the same error.
 */
enum ac_err ac_journal_scan_begin(struct ac_journal *j, uint64_t from_id, uint64_t from_off, uint64_t *id,
    uint64_t *off);

/*
 * The next complete record at or after *off: AC_OK with *rec and *off past
 * it; AC_ERR_NOT_FOUND when none is complete yet. Torn bytes before a
 * complete record are skipped (logged); with final (a rotation's last read)
 * an incomplete tail is logged and left where it is.
 */
enum ac_err ac_journal_next(struct ac_journal *j, uint64_t *off, struct ac_journal_rec *rec, int final);

/*
 * ac_journal_mark() notes that the file is in the store up to off (0: not
 * known); ac_journal_has_news() then says, with one stat, whether anything
 * came after it (or the file was replaced) since.
 */
void ac_journal_mark(struct ac_journal *j, uint64_t off);
int ac_journal_has_news(struct ac_journal *j);
/*
 * After scan_begin on the file the store read up to off: whether it still
 * holds what the store recorded there, i.e. it is at least off bytes long and
 * (last_size not 0) the record that ends at off is the one moved in last
 * (its size and CRC). 0: shorter, or rewritten (a restored snapshot, a
 * truncation): the records after its real end were moved in already, and new
 * ones land where the store believes it has read, so the caller reads the
 * file again from its start.
 */
int ac_journal_matches(struct ac_journal *j, uint64_t off, uint32_t last_size, uint32_t last_crc);

/* When the file scan_begin looked at was made (seconds, from its header; 0 before any scan). */
uint64_t ac_journal_born(const struct ac_journal *j);

/* What damage was last found (a sentence for the operator), or NULL. */
const char *ac_journal_damage(const struct ac_journal *j);

/*
 * Gives a journal whose header was destroyed a header again; its records
 * are kept. Its file id is id when the record that ends at off has last_size
 * and last_crc (what the store recorded: the file it was reading), else a new
 * one; *used gets it, *size the file's size. AC_ERR_NOT_FOUND when there is
 * no file or its header is sound (nothing done); AC_ERR_STORE when a rotation
 * runs (it does not wait: the caller may hold the store's write lock).
 */
enum ac_err ac_journal_repair(struct ac_journal *j, uint64_t id, uint64_t off, uint32_t last_size,
    uint32_t last_crc, uint64_t *used, uint64_t *size);

/* The file's size when the scan last looked (0 before any scan). */
uint64_t ac_journal_scanned(const struct ac_journal *j);

/*
 * Rotation: begin takes the host's rotation lock (AC_ERR_NOT_FOUND when
 * another process holds it, when the file last scanned is no longer the
 * current one, or when the words for earlier builds cannot be mapped),
 * prepares the next file and takes the current one exclusively (waiting for
 * the appends in flight; new ones wait); read the rest with final = 1 and
 * commit where you got; then end(1) publishes how far the store got and
 * replaces the file (appenders move to the new one) or end(0) gives up.
 */
enum ac_err ac_journal_rotate_begin(struct ac_journal *j);
enum ac_err ac_journal_rotate_end(struct ac_journal *j, int replace);

/* Tests only: called in an append, under its shared lock, just before its write (0) and just after it (1). */
extern void (*ac_journal_test_hook)(int where);

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t ac_crc32c(uint32_t crc, const void *data, size_t len);

#endif
