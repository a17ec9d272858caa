/* lease.c: who holds an inbox lease: a per-process owner, and whether it provably died on this host. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "store/lease.h"
#include "base/log.h"
#include "base/num.h"

#define HOST_MAX (AC_LEASE_HOST_MAX - 1)

/*
 * Lease owners. A pid names a process only on one host, in one pid
 * namespace, until it is reused: a lease that recorded only a pid was taken
 * over when an unrelated process (another host's, another container's, or
 * the new holder of a recycled pid) happened to look dead, and kept when one
 * happened to look alive. The owner is therefore a random id, with the boot
 * id, pid namespace, pid and start time that together prove on this host
 * whether that very process still runs.
 */
static struct ac_lease_owner self, forced;
static int have_forced;

/* Reads a small /proc file into buf (NUL-terminated); its length or -1. */
static ssize_t
read_small(const char *path, char *buf, size_t n)
{
	ssize_t r = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	do
		r = read(fd, buf, n - 1);
	while (r < 0 && errno == EINTR);
	close(fd);
	if (r >= 0)
		buf[r] = '\0';
	return r;
}

/* The 16 bytes of a boot id "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; zeros when unreadable. */
static void
boot_id(unsigned char out[16])
{
	char buf[64], *p = buf;
	size_t i = 0;

	memset(out, 0, 16);
	if (read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf)) < 32)
		return;
	for (; *p && i < 32; p++) {
		int d = *p >= '0' && *p <= '9' ? *p - '0' : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10 :
		    *p >= 'A' && *p <= 'F' ? *p - 'A' + 10 : -1;

		if (d < 0)
			continue; /* the dashes */
		out[i / 2] = (unsigned char)(out[i / 2] << 4 | d);
		i++;
	}
	if (i != 32)
		memset(out, 0, 16);
}

/* proc(5): field 22 of /proc/PID/stat, counted after the ')' that ends the command name. */
static uint64_t
start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	int64_t v;
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0 || (p = strrchr(buf, ')')) == NULL)
		return 0;
	p++;
	for (field = 2; field < 21; field++) {
		while (*p == ' ')
			p++;
		if ((p = strchr(p, ' ')) == NULL)
			return 0;
	}
	while (*p == ' ')
		p++;
	return ac_num_parse(p, strcspn(p, " \n"), 0, INT64_MAX, &v) == AC_OK ? (uint64_t)v : 0;
}

static uint64_t
pid_ns(void)
{
	struct stat sb;

	return stat("/proc/self/ns/pid", &sb) == 0 ? (uint64_t)sb.st_ino : 0;
}

enum ac_err
ac_lease_owner_self(struct ac_lease_owner *out)
{
	pid_t pid = getpid();

	if (have_forced) {
		*out = forced;
		return AC_OK;
	}
	/* drawn again in a child after fork: it is another process */
	if (self.pid != (int32_t)pid) {
		struct ac_lease_owner o;
		size_t got = 0;

		memset(&o, 0, sizeof(o));
		while (got < sizeof(o.id)) {
			ssize_t r = getrandom(o.id + got, sizeof(o.id) - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				ac_log_error("getrandom: %s", strerror(errno));
				return AC_ERR_INTERNAL;
			}
			got += (size_t)r;
		}
		boot_id(o.boot);
		o.pidns = pid_ns();
		o.start = start_time(pid);
		o.pid = (int32_t)pid;
		if (gethostname(o.host, sizeof(o.host) - 1) != 0)
			o.host[0] = '\0';
		o.host[HOST_MAX] = '\0';
		self = o;
	}
	*out = self;
	return AC_OK;
}

void
ac_lease_set_owner(const struct ac_lease_owner *o)
{
	have_forced = o != NULL;
	if (o)
		forced = *o;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int
ac_lease_owner_dead(const struct ac_lease_owner *o)
{
	static unsigned char boot[16];
	static uint64_t ns;
	static pid_t read_by;
	uint64_t start;

	/* read once per process: a worker asks at every poll */
	if (read_by != getpid()) {
		boot_id(boot);
		ns = pid_ns();
		read_by = getpid();
	}
	/* only this host, this boot and this pid namespace can tell what a pid is */
	if (o->pid <= 0 || all_zero(o->boot, 16) || all_zero(boot, 16) || memcmp(o->boot, boot, 16) ||
	    o->pidns == 0 || o->pidns != ns)
		return 0;
	if (kill((pid_t)o->pid, 0) != 0 && errno == ESRCH)
		return 1;
	/* someone has the pid: the owner only if it started when the owner did */
	if (o->start == 0 || (start = start_time((pid_t)o->pid)) == 0)
		return 0;
	return start != o->start;
}

void
ac_lease_owner_format(const struct ac_lease_owner *o, char *buf, size_t n)
{
	if (o->pid <= 0 && all_zero(o->id, 16)) {
		snprintf(buf, n, "-");
		return;
	}
	snprintf(buf, n, "%s pid %ld id %02x%02x%02x%02x", *o->host ? o->host : "?", (long)o->pid, o->id[0], o->id[1],
	    o->id[2], o->id[3]);
}

