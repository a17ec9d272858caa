/* lease.h: who holds an inbox lease (inbox.h): an owner per process, and whether it provably died. */
#ifndef AC_LEASE_H
#define AC_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* gethostname(2)'s longest name (HOST_NAME_MAX) and its NUL */
#define AC_LEASE_HOST_MAX 65

/*
 * Who holds a lease. Each process draws its own (ac_lease_owner_self) when
 * it first claims: 128 random bits that no other process shares, whatever
 * its pid or host, and what proves on this host that the process is gone
 * (a pid alone does not: pids are reused, and collide across hosts and pid
 * namespaces). Fields that could not be read are zero.
 */
struct ac_lease_owner {
	unsigned char id[16];      /* getrandom(2), drawn once per process */
	unsigned char boot[16];    /* /proc/sys/kernel/random/boot_id: this host, this boot */
	uint64_t pidns;            /* inode of /proc/self/ns/pid */
	uint64_t start;            /* start time, clock ticks after boot (/proc/PID/stat field 22) */
	int32_t pid;
	char host[AC_LEASE_HOST_MAX]; /* gethostname(2), for people; never used to decide */
};

/*
 * This process's lease owner: drawn at the first call (and again in a child
 * after fork), then the same. AC_ERR_INTERNAL when getrandom(2) fails.
 */
enum ac_err ac_lease_owner_self(struct ac_lease_owner *out);

/*
 * 1 when the owner is provably gone: its boot id and pid namespace are this
 * process's, and no process has its pid, or the one that has it started at
 * another time (the pid was reused). 0 when it is alive or nothing can be
 * proved (another host, another boot, unreadable /proc, an empty owner).
 */
int ac_lease_owner_dead(const struct ac_lease_owner *o);

/*
 * The owner for people: "host pid 123 id 0123abcd" (the first 8 hex digits
 * of the id), or "-" for an empty one; truncated to n (n >= 2).
 */
void ac_lease_owner_format(const struct ac_lease_owner *o, char *buf, size_t n);

/* For tests: ac_lease_owner_self() answers o from now on (NULL: this process's own again). */
void ac_lease_set_owner(const struct ac_lease_owner *o);

#endif
