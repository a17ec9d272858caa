/*
 * test-store-copy.c: ac_store_copy() (store-copy.c, what acctl store copy
 * runs; issue 16 item 7) on ac_store_items() and ac_store_item_put_txn(): a
 * store holding one of every kind of record is copied LMDB -> PostgreSQL ->
 * LMDB -> LMDB and PostgreSQL -> PostgreSQL, counted per kind; a second copy
 * into the same target is refused (not empty), and so is a source with a
 * live lease, unless AC_STORE_COPY_FORCE; and
 * each copy answers every get as the original does: tokens and failures,
 * install keys (a remembered failure is not an item), notes (a long key
 * hashed alike), lifecycle_seen, Forge installations with their first_seen,
 * last_seen and client_key, system tokens, the JWKS and its fetch state,
 * pending and dead events with their seq, attempts, next_at and last_error,
 * delivery ids (a redelivery is a duplicate in the copy), and the next
 * sequence number past every copied one.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "store/inbox.h"
#include "store/store.h"
#include "unit.h"
#include "pg-harness.h"

#define T0 1800000000
#define INST "ari:cloud:ecosystem::installation/0b1c2d3e-0000-4000-8000-000000000001"
#define LONG_NOTE_LEN 600

static char long_note[LONG_NOTE_LEN + 1];

static struct ac_store *
lmdb_open(char *dir, size_t n)
{
	struct ac_store *st = NULL;

	snprintf(dir, n, "/tmp/ac-copy-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(ac_store_open(dir, 0, AC_STORE_NOSYNC, &st), AC_OK);
	return st;
}

static void
rm_dir(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* ---- one of everything */

static enum ac_err
put_seen(struct ac_txn *txn, void *ctx)
{
	struct ac_seen e = { 0 };

	(void)ctx;
	e.exp = T0 + 300;
	memset(e.token_sha, 0xab, sizeof(e.token_sha));
	e.body = "00ff";
	e.client_key = "ck-1";
	e.event = "installed";
	e.iat = T0 - 10;
	e.at = T0;
	return ac_seen_put_txn(txn, &e);
}

static void
fill(struct ac_store *st)
{
	struct ac_token_rec tok = { 0 }, fail = { 0 };
	struct ac_forge_context ctx = { "bitbucket", "https://api.example", NULL, "{ws}" };
	struct ac_forge_installation in = { 0 };
	uint64_t seq;
	int dup, kept;

	ac_clock_set(T0);
	tok.access_token = "access-secret-1";
	tok.scopes = "READ WRITE";
	tok.expires_at = T0 + 900;
	tok.obtained_at = T0 - 5;
	ck_assert_int_eq(ac_token_put(st, "bb:ck-1", &tok), AC_OK);
	fail.failed_at_ms = (int64_t)T0 * 1000 + 7;
	fail.failure = AC_ERR_GRANT_REFUSED;
	ck_assert_int_eq(ac_token_put(st, "jira:ck-2 user-9", &fail), AC_OK);
	ck_assert_int_eq(ac_install_key_put(st, "kid-1", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
	    AC_OK);
	ck_assert_int_eq(ac_install_key_missing(st, "kid-gone", 404, T0 + 60), AC_OK);
	ck_assert_int_eq(ac_note_put(st, "comment:pr-1"), AC_OK);
	ck_assert_int_eq(ac_note_put(st, long_note), AC_OK);
	ck_assert_int_eq(ac_store_update(st, put_seen, NULL), AC_OK);
	in.installation_id = INST;
	in.app_id = "app-1";
	in.environment_type = "PRODUCTION";
	in.api_base_url = "https://api.example";
	in.client_key = "ck-1";
	in.contexts = &ctx;
	in.ncontexts = 1;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK);
	ac_clock_set(T0 + 20);
	in.client_key = NULL;
	ck_assert_int_eq(ac_forge_installation_put(st, &in), AC_OK); /* last_seen T0 + 20, first_seen kept */
	ck_assert_int_eq(ac_forge_token_offer(st, INST, "system-secret-1", T0 + 3600, &kept), AC_OK);
	ck_assert_int_eq(kept, 1);
	ck_assert_int_eq(ac_forge_jwks_put(st, "{\"keys\":[]}", 11), AC_OK);
	/* events: 1 done (its delivery id stays), 2 pending, 3 failed once, 4 dead */
	ck_assert_int_eq(ac_inbox_accept(st, "ck-1", "repo:push", "d-1", "{\"n\":1}", 7, &seq, &dup), AC_OK);
	ck_assert_int_eq(ac_inbox_accept(st, "ck-1", "repo:push", "d-2", "{\"n\":2}", 7, &seq, &dup), AC_OK);
	ck_assert_int_eq(ac_inbox_accept(st, "ck-2", "jira:issue_created", "d-3", "{\"n\":3}", 7, &seq, &dup), AC_OK);
	ck_assert_int_eq(ac_inbox_accept(st, "ck-2", "jira:issue_created", "", "{\"n\":4}", 7, &seq, &dup), AC_OK);
	ck_assert_uint_eq(seq, 4);
	ck_assert_int_eq(ac_inbox_drop(st, 1), AC_OK); /* settled: the largest seq goes on */
	ck_assert_int_eq(ac_inbox_fail(st, 3, "HTTP 500 from the product", T0 + 120, 0), AC_OK);
	ck_assert_int_eq(ac_inbox_fail(st, 4, "gave up", T0 + 999, 1), AC_OK);
	ac_clock_set(T0 + 30);
}

/* ---- the copy: ac_store_copy, what acctl store copy runs */

/* extra: delivery ids same() added to from since it was filled */
static void
copy(struct ac_store *from, struct ac_store *to, size_t extra)
{
	struct ac_store_copy_report r;
	/* 0 tenants, 1 seen, 1 installation, 2 tokens, 1 key (a remembered failure is not one), 2 notes,
	 * 1 system token, the JWKS, the delivery ids within the window (d-1 d-2 d-3), 2 pending, 1 dead */
	static const size_t want[AC_COPY__COUNT] = { 0, 1, 1, 2, 1, 2, 1, 1, 3, 2, 1 };
	size_t k;

	ck_assert_int_eq(ac_store_copy(from, to, 0, &r), AC_OK);
	ck_assert_int_eq(r.step, AC_COPY_WRITTEN);
	ck_assert_int_eq(r.refused, 0);
	ck_assert_uint_eq(r.leased, 0);
	ck_assert_ptr_null(r.holds);
	for (k = 0; k < AC_COPY__COUNT; k++)
		ck_assert_msg(r.n[k] == want[k] + (k == AC_COPY_DELIVERY ? extra : 0), "%s: %zu copied",
		    ac_store_copy_kind_name((enum ac_store_copy_kind)k), r.n[k]);
	/* once more: the target is not empty now, and says what it holds first */
	ck_assert_int_eq(ac_store_copy(from, to, 0, &r), AC_ERR_INVALID);
	ck_assert_int_eq(r.step, AC_COPY_TARGET);
	ck_assert_int_eq(r.refused, 1);
	ck_assert_str_eq(r.holds, ac_store_copy_kind_name(AC_COPY_SEEN));
	for (k = 0; k < AC_COPY__COUNT; k++)
		ck_assert_uint_eq(r.n[k], 0);
}

/* ---- every get of the copy as of the original */

static enum ac_err
count_seen(const struct ac_seen *e, void *ctx)
{
	ck_assert_int_eq(e->exp, T0 + 300);
	ck_assert_str_eq(e->client_key, "ck-1");
	ck_assert_int_eq(e->at, T0);
	(*(int *)ctx)++;
	return AC_OK;
}

/* copy: st is a copy (a remembered install-key failure is not moved; the original keeps it) */
static void
same(struct ac_store *st, int copy)
{
	struct ac_token_rec r = { 0 };
	struct ac_install_key k;
	struct ac_forge_installation in = { 0 };
	struct ac_forge_token t = { 0 };
	struct ac_forge_jwks_state js;
	struct ac_event ev = { 0 };
	struct ac_buf b;
	uint64_t seq;
	int found = 0, dead = 0, dup = 0, n = 0;
	static int news;
	char id[32];

	ac_buf_init(&b, 1 << 16);
	ck_assert_int_eq(ac_token_get(st, "bb:ck-1", &r), AC_OK);
	ck_assert_str_eq(r.access_token, "access-secret-1");
	ck_assert_str_eq(r.scopes, "READ WRITE");
	ck_assert_int_eq(r.expires_at, T0 + 900);
	ck_assert_int_eq(r.obtained_at, T0 - 5);
	ac_token_rec_release(&r);
	ck_assert_int_eq(ac_token_get(st, "jira:ck-2 user-9", &r), AC_OK);
	ck_assert_ptr_null(r.access_token);
	ck_assert_int_eq(r.failed_at_ms, (int64_t)T0 * 1000 + 7);
	ck_assert_int_eq(r.failure, AC_ERR_GRANT_REFUSED);
	ac_token_rec_release(&r);

	ck_assert_int_eq(ac_install_key_get(st, "kid-1", &b, &k), AC_OK);
	ck_assert_int_eq(k.found, 1);
	ck_assert(strstr(b.data, "AAAA") != NULL);
	ck_assert_int_eq(ac_install_key_get(st, "kid-gone", &b, &k), AC_OK);
	ck_assert_int_eq(k.found, 0);
	ck_assert_int_eq(k.missing != 0, !copy); /* a remembered failure is not moved */

	ck_assert_int_eq(ac_note_get(st, "comment:pr-1", &found), AC_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(ac_note_get(st, long_note, &found), AC_OK);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(ac_note_get(st, "comment:pr-2", &found), AC_OK);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(ac_seen_list(st, count_seen, &n), AC_OK);
	ck_assert_int_eq(n, 1);

	ck_assert_int_eq(ac_forge_installation_get(st, INST, &in), AC_OK);
	ck_assert_str_eq(in.app_id, "app-1");
	ck_assert_str_eq(in.client_key, "ck-1");
	ck_assert_int_eq(in.first_seen, T0);
	ck_assert_int_eq(in.last_seen, T0 + 20);
	ck_assert_uint_eq(in.ncontexts, 1);
	ck_assert_str_eq(in.contexts[0].workspace_id, "{ws}");
	ac_forge_installation_release(&in);
	ck_assert_int_eq(ac_forge_token_get(st, INST, &t), AC_OK);
	ck_assert_str_eq(t.token, "system-secret-1");
	ck_assert_int_eq(t.exp, T0 + 3600);
	ck_assert_int_eq(t.received_at, T0 + 20);
	ac_forge_token_release(&t);
	ck_assert_int_eq(ac_forge_jwks_get(st, &b, &js), AC_OK);
	ck_assert_int_eq(js.found, 1);
	ck_assert_str_eq(b.data, "{\"keys\":[]}");
	ck_assert_int_eq(js.fetched_at, T0 + 20);
	ck_assert_int_eq(js.attempt_at, T0 + 20);
	ck_assert_int_eq(js.attempt, 1);

	ck_assert_int_eq(ac_inbox_get(st, 1, &ev, &dead), AC_ERR_NOT_FOUND);
	ck_assert_int_eq(ac_inbox_get(st, 3, &ev, &dead), AC_OK);
	ck_assert_int_eq(dead, 0);
	ck_assert_str_eq(ev.client_key, "ck-2");
	ck_assert_str_eq(ev.delivery_id, "d-3");
	ck_assert_str_eq(ev.body, "{\"n\":3}");
	ck_assert_uint_eq(ev.attempts, 1);
	ck_assert_int_eq(ev.next_at, T0 + 120);
	ck_assert_int_eq(ev.received_at, T0 + 20);
	ck_assert_str_eq(ev.last_error, "HTTP 500 from the product");
	ck_assert_int_eq(ev.lease_until, 0);
	ac_event_release(&ev);
	ck_assert_int_eq(ac_inbox_get(st, 4, &ev, &dead), AC_OK);
	ck_assert_int_eq(dead, 1);
	ck_assert_str_eq(ev.last_error, "gave up");
	ac_event_release(&ev);

	/* the dedupe and the numbers go on: a redelivery of the settled event 1 is a duplicate */
	ck_assert_int_eq(ac_inbox_accept(st, "ck-1", "repo:push", "d-1", "{}", 2, &seq, &dup), AC_OK);
	ck_assert_int_eq(dup, 1);
	snprintf(id, sizeof(id), "d-new-%d", ++news);
	ck_assert_int_eq(ac_inbox_accept(st, "ck-1", "repo:push", id, "{}", 2, &seq, &dup), AC_OK);
	ck_assert_int_eq(dup, 0);
	ck_assert_uint_gt(seq, 4);
	ck_assert_int_eq(ac_inbox_drop(st, seq), AC_OK); /* as it was, but for that delivery id */
	ac_buf_release(&b);
}

START_TEST(lmdb_pg_lmdb)
{
	char a_dir[64], b_dir[64], c_dir[64];
	struct ac_store *a = lmdb_open(a_dir, sizeof(a_dir)), *p = pgh_open(), *b, *c;

	fill(a);
	copy(a, p, 0);
	same(p, 1);
	b = lmdb_open(b_dir, sizeof(b_dir));
	copy(p, b, 1);
	same(b, 1);
	c = lmdb_open(c_dir, sizeof(c_dir));
	copy(b, c, 2);
	same(c, 1);
	same(a, 0);
	ac_store_close(a);
	ac_store_close(b);
	ac_store_close(c);
	ac_store_close(p);
	rm_dir(a_dir);
	rm_dir(b_dir);
	rm_dir(c_dir);
	ac_clock_set(0);
}
END_TEST

START_TEST(pg_pg)
{
	struct ac_store *a = pgh_open(), *b = pgh_open();

	fill(a);
	copy(a, b, 0);
	same(b, 1);
	ac_store_close(a);
	ac_store_close(b);
	ac_clock_set(0);
}
END_TEST

/* a worker at the source (a live lease) refuses the copy; FORCE copies, the lease dropped, and into a
 * store that holds the same records (the lifecycle_seen entry kept, not counted again) */
START_TEST(leased_force)
{
	char a_dir[64];
	struct ac_store *a = lmdb_open(a_dir, sizeof(a_dir)), *p = pgh_open();
	struct ac_store_copy_report r;
	struct ac_event ev = { 0 };
	int dead = 0;

	fill(a);
	ck_assert_int_eq(ac_inbox_claim(a, 300, &ev), AC_OK);
	ck_assert_uint_eq(ev.seq, 2);
	ac_event_release(&ev);
	ck_assert_int_eq(ac_store_copy(a, p, 0, &r), AC_ERR_INVALID);
	ck_assert_int_eq(r.step, AC_COPY_LEASES);
	ck_assert_int_eq(r.refused, 1);
	ck_assert_uint_eq(r.leased, 1);
	ck_assert_int_eq(ac_store_copy(a, p, AC_STORE_COPY_FORCE, &r), AC_OK);
	ck_assert_uint_eq(r.leased, 1);
	ck_assert_uint_eq(r.n[AC_COPY_EVENT], 2);
	ck_assert_int_eq(ac_inbox_get(p, 2, &ev, &dead), AC_OK);
	ck_assert_int_eq(ev.lease_until, 0);
	ac_event_release(&ev);
	ck_assert_int_eq(ac_store_copy(a, p, AC_STORE_COPY_FORCE, &r), AC_OK);
	ck_assert_ptr_nonnull(r.holds);
	ck_assert_uint_eq(r.n[AC_COPY_SEEN], 0);
	ck_assert_uint_eq(r.n[AC_COPY_TOKEN], 2);
	ac_store_close(a);
	ac_store_close(p);
	rm_dir(a_dir);
	ac_clock_set(0);
}
END_TEST

static void
pg_server_setup(void)
{
	memset(long_note, 'n', LONG_NOTE_LEN);
	pgh_server();
}

static Suite *
suite(void)
{
	Suite *s = suite_create("store-copy");
	TCase *tc = tcase_create("copy");

	tcase_add_unchecked_fixture(tc, pg_server_setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lmdb_pg_lmdb);
	tcase_add_test(tc, pg_pg);
	tcase_add_test(tc, leased_force);
	suite_add_tcase(s, tc);
	return s;
}

AC_UNIT_MAIN(suite)
