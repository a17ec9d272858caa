/*
 * store-copy.c: ac_store_copy (store.h), the walk behind `acctl store copy`:
 * one store into another through the store interface alone (no LMDB, no
 * libpq here), so that any backend copies into any backend, and the unit
 * test (tests/unit/test-store-copy.c) runs the code acctl runs.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "store/inbox.h"
#include "store/lease.h"
#include "store/store.h"
#include "store/tenant.h"

static const char *const kind_name[AC_COPY__COUNT] = {
	"tenants", "lifecycle_seen entries", "Forge installations", "access tokens", "install keys",
	"handler notes", "Forge system tokens", "JWKS documents", "delivery ids (dedupe)", "inbox events",
	"dead letters",
};

const char *
ac_store_copy_kind_name(enum ac_store_copy_kind kind)
{
	return (unsigned)kind < AC_COPY__COUNT ? kind_name[kind] : "?";
}

static enum ac_store_copy_kind
item_kind(enum ac_item_kind k)
{
	switch (k) {
	case AC_ITEM_TOKEN:
		return AC_COPY_TOKEN;
	case AC_ITEM_INSTALL_KEY:
		return AC_COPY_INSTALL_KEY;
	case AC_ITEM_NOTE:
		return AC_COPY_NOTE;
	case AC_ITEM_FORGE_TOKEN:
		return AC_COPY_FORGE_TOKEN;
	case AC_ITEM_JWKS:
		return AC_COPY_JWKS;
	case AC_ITEM_DELIVERY:
		return AC_COPY_DELIVERY;
	case AC_ITEM_FORGE_INSTALLATION:
		return AC_COPY_FORGE_INSTALLATION;
	case AC_ITEM_EVENT:
		return AC_COPY_EVENT;
	case AC_ITEM_DEAD:
		return AC_COPY_DEAD;
	case AC_ITEM_SEQ:
	case AC_ITEM__COUNT:
		break;
	}
	return AC_COPY__COUNT;
}

struct copy {
	struct ac_store *src;
	struct ac_txn *txn;       /* the target's */
	time_t now;
	struct ac_store_copy_report *r;
};

static enum ac_err
count_leased(const struct ac_event *ev, void *ctx)
{
	struct copy *c = ctx;

	if (ev->lease_until > c->now && !ac_lease_owner_dead(&ev->owner))
		c->r->leased++;
	return AC_OK;
}

/*
 * ---- one walk: the copy, in the target's one transaction (c->txn); or,
 * with c->txn NULL, whether the target is empty: the first record found
 * stops the walk (r->holds says what it is)
 */

/* What a walk's callback returns when it found a record of a store looked at (c->txn NULL). */
#define STOP AC_ERR_INTERNAL

static enum ac_err
found(struct copy *c, enum ac_store_copy_kind k)
{
	c->r->holds = kind_name[k];
	return STOP;
}

static enum ac_err
put_item(const struct ac_store_item *it, void *ctx)
{
	struct copy *c = ctx;
	enum ac_store_copy_kind k = item_kind(it->kind);
	enum ac_err err;

	if (c->txn == NULL) /* a fresh store has its AC_ITEM_SEQ too */
		return it->kind == AC_ITEM_SEQ ? AC_OK : found(c, k);
	if ((err = ac_store_item_put_txn(c->txn, it)) == AC_OK && k != AC_COPY__COUNT)
		c->r->n[k]++;
	return err;
}

static enum ac_err
put_tenant(const struct ac_tenant *t0, json_object *record, void *ctx)
{
	struct copy *c = ctx;
	struct ac_tenant t = { 0 };
	json_object *install = NULL;
	enum ac_err err;

	(void)t0;
	if (c->txn == NULL)
		return found(c, AC_COPY_TENANT);
	/* the whole record: the install body (borrowed from record) kept with it */
	if ((err = ac_tenant_from_json(record, &t, &install)) == AC_OK &&
	    (err = ac_tenant_put_txn(c->txn, &t, install)) == AC_OK)
		c->r->n[AC_COPY_TENANT]++;
	ac_tenant_release(&t); /* install is borrowed from record */
	return err;
}

static enum ac_err
put_seen(const struct ac_seen *e, void *ctx)
{
	struct copy *c = ctx;
	struct ac_seen old = { 0 };
	enum ac_err err;

	if (c->txn == NULL)
		return found(c, AC_COPY_SEEN);
	err = ac_seen_get_txn(c->txn, e->exp, e->token_sha, &old);
	ac_seen_release(&old);
	if (err == AC_OK)
		return AC_OK; /* FORCE: the target has it already (an entry is never overwritten) */
	if (err != AC_ERR_NOT_FOUND)
		return err;
	if ((err = ac_seen_put_txn(c->txn, e)) == AC_OK)
		c->r->n[AC_COPY_SEEN]++;
	return err;
}

/* An installation or an event, as the item of its kind. */
static enum ac_err
put_as(void *ctx, enum ac_item_kind kind, const struct ac_forge_installation *in, const struct ac_event *ev)
{
	struct ac_store_item it = { 0 };

	it.kind = kind;
	it.installation = in;
	it.event = ev;
	return put_item(&it, ctx);
}

static enum ac_err
put_installation(const struct ac_forge_installation *in, void *ctx)
{
	return put_as(ctx, AC_ITEM_FORGE_INSTALLATION, in, NULL);
}

static enum ac_err
put_event(const struct ac_event *ev, void *ctx)
{
	return put_as(ctx, AC_ITEM_EVENT, NULL, ev);
}

static enum ac_err
put_dead(const struct ac_event *ev, void *ctx)
{
	return put_as(ctx, AC_ITEM_DEAD, NULL, ev);
}

/* Every record of st, in this order, through the callbacks above. */
static enum ac_err
walk(struct ac_store *st, struct copy *c)
{
	enum ac_err err;

	if ((err = ac_tenant_foreach(st, put_tenant, c)) != AC_OK ||
	    (err = ac_seen_list(st, put_seen, c)) != AC_OK ||
	    (err = ac_forge_installation_foreach(st, put_installation, c)) != AC_OK ||
	    (err = ac_store_items(st, put_item, c)) != AC_OK ||
	    (err = ac_inbox_list(st, 0, put_event, c)) != AC_OK)
		return err;
	return ac_inbox_list(st, 1, put_dead, c);
}

/* AC_OK, r->holds NULL when st holds nothing, else what it holds first; or a store error. */
static enum ac_err
empty(struct ac_store *st, struct copy *c)
{
	enum ac_err err;

	c->txn = NULL;
	c->r->holds = NULL;
	err = walk(st, c);
	return c->r->holds ? AC_OK : err;
}

static enum ac_err
copy_fn(struct ac_txn *txn, void *ctx)
{
	struct copy *c = ctx;
	size_t k;

	/* may run again from scratch (a grown LMDB map, a PostgreSQL serialization failure) */
	for (k = 0; k < AC_COPY__COUNT; k++)
		c->r->n[k] = 0;
	c->txn = txn;
	return walk(c->src, c);
}

enum ac_err
ac_store_copy(struct ac_store *from, struct ac_store *to, unsigned flags, struct ac_store_copy_report *out)
{
	struct ac_store_copy_report zero = { 0 };
	struct copy c = { 0 };
	int force = (flags & AC_STORE_COPY_FORCE) != 0;
	enum ac_err err;

	*out = zero;
	c.src = from;
	c.r = out;
	/* the programs and workers of the source must be stopped: a leased event says a worker runs */
	out->step = AC_COPY_LEASES;
	c.now = ac_clock_now();
	if ((err = ac_inbox_list(from, 0, count_leased, &c)) != AC_OK)
		return err;
	if (out->leased && !force) {
		out->refused = 1;
		return AC_ERR_INVALID;
	}
	out->step = AC_COPY_TARGET;
	if ((err = empty(to, &c)) != AC_OK)
		return err;
	if (out->holds && !force) {
		out->refused = 1;
		return AC_ERR_INVALID;
	}
	out->step = AC_COPY_WRITE;
	if ((err = ac_store_update(to, copy_fn, &c)) != AC_OK)
		return err;
	out->step = AC_COPY_WRITTEN;
	return AC_OK;
}
