/* Exported wrappers over DPDK's static-inline hot functions, and bring-up helpers; see shim.h. */
#define _GNU_SOURCE
#define ALLOW_EXPERIMENTAL_API /* rte_devargs_reset */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <rte_bus.h>
#include <rte_devargs.h>
#include <rte_log.h>
#include <rte_ethdev.h>
#include <rte_errno.h>
#include <rte_cycles.h>
#include <rte_lcore.h>
#include "shim.h"

uint16_t shim_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) { return rte_eth_rx_burst(port, queue, pkts, n); }
uint16_t shim_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n) { return rte_eth_tx_burst(port, queue, pkts, n); }
struct rte_mbuf *shim_pktmbuf_alloc(struct rte_mempool *mp) { return rte_pktmbuf_alloc(mp); }
int shim_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int n) { return rte_pktmbuf_alloc_bulk(mp, mbufs, n); }
void shim_pktmbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }
char *shim_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_prepend(m, len); }
char *shim_pktmbuf_append(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_append(m, len); }
char *shim_pktmbuf_adj(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_adj(m, len); }
int shim_pktmbuf_trim(struct rte_mbuf *m, uint16_t len) { return rte_pktmbuf_trim(m, len); }
uint16_t shim_pktmbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
uint16_t shim_pktmbuf_tailroom(const struct rte_mbuf *m) { return rte_pktmbuf_tailroom(m); }
unsigned int shim_lcore_id(void) { return rte_lcore_id(); }
uint64_t shim_rdtsc(void) { return rte_rdtsc(); }
int shim_errno(void) { return rte_errno; }
int shim_lpm_lookup(struct rte_lpm *lpm, uint32_t ip, uint32_t *next_hop) { return rte_lpm_lookup(lpm, ip, next_hop); }
unsigned int shim_ring_enqueue_burst_elem(struct rte_ring *r, const void *objs, unsigned int esize, unsigned int n) { return rte_ring_enqueue_burst_elem(r, objs, esize, n, NULL); }
unsigned int shim_ring_dequeue_burst_elem(struct rte_ring *r, void *objs, unsigned int esize, unsigned int n) { return rte_ring_dequeue_burst_elem(r, objs, esize, n, NULL); }
int shim_lpm_lookup_bulk(struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n) { return rte_lpm_lookup_bulk(lpm, ips, next_hops, n); }

int shim_devargs_bus(const char *devargs, char *bus, size_t len)
{
	struct rte_devargs da;
	int ret;

	memset(&da, 0, sizeof(da));
	ret = rte_devargs_parse(&da, devargs);
	if (ret == 0 && len > 0) {
		snprintf(bus, len, "%s", da.bus != NULL ? rte_bus_name(da.bus) : "");
	}
	rte_devargs_reset(&da);
	return ret > 0 ? -ret : ret;
}

int shim_lock_owner(const char *path)
{
	struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret, err;

	if (fd < 0)
		return -errno;
	ret = fcntl(fd, F_GETLK, &l);
	err = errno;
	close(fd);
	if (ret < 0)
		return -err;
	return l.l_type == F_UNLCK ? 0 : (int)l.l_pid;
}

static FILE *capture;
static char *capture_buf;
static size_t capture_len;

int shim_log_capture_begin(void)
{
	if (capture != NULL)
		return -EBUSY;
	capture = open_memstream(&capture_buf, &capture_len);
	if (capture == NULL)
		return -errno;
	rte_openlog_stream(capture);
	return 0;
}

size_t shim_log_capture_end(char *buf, size_t len)
{
	size_t n;

	if (capture == NULL) {
		if (len > 0)
			buf[0] = '\0';
		return 0;
	}
	rte_openlog_stream(NULL);
	fclose(capture);
	capture = NULL;
	n = capture_len;
	if (len > 0)
		snprintf(buf, len, "%s", capture_buf != NULL ? capture_buf : "");
	free(capture_buf);
	capture_buf = NULL;
	capture_len = 0;
	return n;
}

unsigned int shim_if_nametoindex(const char *name) { return if_nametoindex(name); }
