// xdp_drop_redis.c: dst port 6379 드롭(학습) — the lab's XDP example (issue 15), drops TCP to 6379.
//
// As the lab prints it, this file does not compile: SEC() comes from <bpf/bpf_helpers.h> and
// IPPROTO_TCP from <linux/in.h>, which it does not include. kubeward ships it with those two
// includes added (marked below) and nothing else changed. Build (Debian: clang, libbpf-dev; the
// -I makes <asm/types.h> visible to -target bpf):
//   clang -O2 -g -target bpf -I/usr/include/$(uname -m)-linux-gnu -c xdp_drop_redis.c -o xdp_drop_redis.o
// Then: kubeward explain examples/xdp/shop.yaml --from shop/web --to shop/redis --port 6379 \
//         --xdp xdp_drop_redis.o
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/in.h>          /* added: IPPROTO_TCP */
#include <bpf/bpf_helpers.h>   /* added: SEC() */

SEC("xdp")
int xdp_prog(struct xdp_md *ctx){
  void* data=(void*)(long)ctx->data;
  void* end =(void*)(long)ctx->data_end;
  struct ethhdr* eth=data;
  if((void*)eth+sizeof(*eth)>end) return XDP_PASS;
  if(eth->h_proto!=__constant_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* iph=(void*)eth+sizeof(*eth);
  if((void*)iph+sizeof(*iph)>end||iph->protocol!=IPPROTO_TCP) return XDP_PASS;
  struct tcphdr* th=(void*)iph+iph->ihl*4;
  if((void*)th+sizeof(*th)>end) return XDP_PASS;
  if(th->dest==__constant_htons(6379)) return XDP_DROP;
  return XDP_PASS;
}
char _license[] SEC("license")="GPL";
