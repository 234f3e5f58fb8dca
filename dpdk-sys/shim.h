/* One wrapper per DPDK static-inline function that Rust calls (bindgen cannot call inlines),
 * and a few helpers that need C structs or libc to name why a bring-up failed. */
#ifndef FASTPATH_DPDK_SHIM_H
#define FASTPATH_DPDK_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lpm.h>
#include <rte_ring.h>

uint16_t shim_rx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
uint16_t shim_tx_burst(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n);
struct rte_mbuf *shim_pktmbuf_alloc(struct rte_mempool *mp);
int shim_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs, unsigned int n);
void shim_pktmbuf_free(struct rte_mbuf *m);
char *shim_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *shim_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
char *shim_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
int shim_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t shim_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t shim_pktmbuf_tailroom(const struct rte_mbuf *m);
unsigned int shim_lcore_id(void);
uint64_t shim_rdtsc(void);
int shim_errno(void);
int shim_lpm_lookup(struct rte_lpm *lpm, uint32_t ip, uint32_t *next_hop);
unsigned int shim_ring_enqueue_burst_elem(struct rte_ring *r, const void *objs, unsigned int esize, unsigned int n);
unsigned int shim_ring_dequeue_burst_elem(struct rte_ring *r, void *objs, unsigned int esize, unsigned int n);
int shim_lpm_lookup_bulk(struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n);

/* Parses devargs as rte_dev_probe would and copies the name of the bus that takes them into
 * bus[len]: 0, or the negative errno of rte_devargs_parse (no bus or driver takes them). */
int shim_devargs_bus(const char *devargs, char *bus, size_t len);
/* The pid of a process holding a POSIX lock on the file at path (as EAL's primary holds its
 * runtime config), 0 if none, or a negative errno if the file cannot be opened. */
int shim_lock_owner(const char *path);
/* Sends DPDK's log to memory until shim_log_capture_end, which copies what was logged into
 * buf[len] (NUL-terminated, cut short if needed), restores the log stream and returns the
 * full length. Not reentrant: control core only. 0 or a negative errno. */
int shim_log_capture_begin(void);
size_t shim_log_capture_end(char *buf, size_t len);
/* if_nametoindex(3): 0 if there is no such network interface. */
unsigned int shim_if_nametoindex(const char *name);
#endif
