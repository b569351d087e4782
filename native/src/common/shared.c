/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shared.c - create (primary) or find (secondary) the shared memzone, and
 * tell whether a process that owns part of it is still alive.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_memzone.h>

#include "common/shared.h"

struct spp_shared *spp_shm;

int
spp_shared_create(void)
{
	const struct rte_memzone *mz;

	mz = rte_memzone_reserve(SPP_SHARED_MZ, sizeof(*spp_shm), rte_socket_id(), 0);
	if (mz == NULL)
		return spp_fail(ENOMEM, "cannot reserve memzone %s: %s", SPP_SHARED_MZ,
				rte_strerror(rte_errno));
	spp_shm = mz->addr;
	memset(spp_shm, 0, sizeof(*spp_shm));
	spp_shm->magic = SPP_SHARED_MAGIC;
	spp_shm->version = SPP_SHARED_VERSION;
	spp_shm->primary_pid = getpid();
	return 0;
}

int
spp_shared_attach(void)
{
	const struct rte_memzone *mz = rte_memzone_lookup(SPP_SHARED_MZ);

	if (mz == NULL)
		return spp_fail(ENOENT, "no SPP primary found (memzone %s missing)",
				SPP_SHARED_MZ);
	spp_shm = mz->addr;
	if (spp_shm->magic != SPP_SHARED_MAGIC || spp_shm->version != SPP_SHARED_VERSION)
		return spp_fail(EPROTO, "primary speaks another shared-memory version");
	return 0;
}

/*
 * A process that still runs. kill(pid, 0) alone is not enough: a child the
 * primary launched stays a zombie until it is reaped, and a zombie owns
 * nothing any more.
 */
int
spp_pid_alive(pid_t pid)
{
	char path[64], buf[256];
	const char *state;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')');  /* "pid (comm) S ..."; comm may hold spaces */
	if (state == NULL || state[1] == '\0')
		return 1;
	return state[2] != 'Z' && state[2] != 'X';
}
