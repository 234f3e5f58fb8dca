/* One wrapper per DPDK static-inline function that Rust calls (bindgen cannot call inlines). */
#ifndef FASTPATH_DPDK_SHIM_H
#define FASTPATH_DPDK_SHIM_H
#include <stdint.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lpm.h>

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
int shim_lpm_lookup_bulk(struct rte_lpm *lpm, const uint32_t *ips, uint32_t *next_hops, unsigned n);
#endif
