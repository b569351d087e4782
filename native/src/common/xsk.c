/* SPDX-License-Identifier: BSD-3-Clause
 *
 * xsk.c - find this process's AF_XDP sockets and read their statistics.
 * Control path only (status requests), never per packet.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/if_xdp.h>

#include "common/common.h"
#include "common/xsk.h"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

static int
is_xsk(int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_XDP;
}

void
xsk_fds_scan(struct xsk_fds *out)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;

	out->nb = 0;
	if (dir == NULL)
		return;
	while (out->nb < XSK_MAX_FDS && (de = readdir(dir)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);

		if (*end == '\0' && fd != dirfd(dir) && is_xsk((int)fd))
			out->fd[out->nb++] = (int)fd;
	}
	closedir(dir);
}

void
xsk_fds_new(const struct xsk_fds *before, const struct xsk_fds *after, struct xsk_fds *out)
{
	unsigned int i, j;

	out->nb = 0;
	for (i = 0; i < after->nb; i++) {
		for (j = 0; j < before->nb && before->fd[j] != after->fd[i]; j++)
			;
		if (j == before->nb)
			out->fd[out->nb++] = after->fd[i];
	}
}

int
xsk_stats_sum(const struct xsk_fds *fds, struct spp_xsk_stats *out)
{
	unsigned int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < fds->nb; i++) {
		struct xdp_statistics st = { 0 };
		socklen_t len = sizeof(st);

		if (getsockopt(fds->fd[i], SOL_XDP, XDP_STATISTICS, &st, &len) != 0)
			return -errno;
		out->rx_dropped += st.rx_dropped;
		out->rx_invalid_descs += st.rx_invalid_descs;
		out->tx_invalid_descs += st.tx_invalid_descs;
		out->rx_ring_full += st.rx_ring_full;
		out->rx_fill_ring_empty_descs += st.rx_fill_ring_empty_descs;
		out->tx_ring_empty_descs += st.tx_ring_empty_descs;
	}
	return 0;
}
