/**
 * ffi/mroute_structs.ts against the C compiler: every named offset and size is compared with
 * offsetof/sizeof from the kernel's uapi headers, and each encoder's bytes with a struct the C
 * program filled with the same values. Skipped visibly when cc is absent.
 */
import assert from "node:assert/strict";
import * as S from "../../ffi/mroute_structs.ts";
import { haveTool, testIf } from "../_util/corpus.ts";

const C_SOURCE = String.raw`
#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/mroute.h>
#include <linux/mroute6.h>
#define O(t, f) printf("\"%s.%s\":%zu,", #t, #f, offsetof(struct t, f))
#define Z(t) printf("\"%s.size\":%zu,", #t, sizeof(struct t))
static void hex(const char *name, const void *p, size_t n) {
  printf("\"%s\":\"", name);
  for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *)p)[i]);
  printf("\",");
}
int main(void) {
  printf("{");
  Z(vifctl); O(vifctl, vifc_vifi); O(vifctl, vifc_flags); O(vifctl, vifc_threshold);
  O(vifctl, vifc_rate_limit); O(vifctl, vifc_lcl_ifindex); O(vifctl, vifc_rmt_addr);
  Z(mfcctl); O(mfcctl, mfcc_origin); O(mfcctl, mfcc_mcastgrp); O(mfcctl, mfcc_parent); O(mfcctl, mfcc_ttls);
  O(mfcctl, mfcc_pkt_cnt); O(mfcctl, mfcc_byte_cnt); O(mfcctl, mfcc_wrong_if); O(mfcctl, mfcc_expire);
  Z(mif6ctl); O(mif6ctl, mif6c_mifi); O(mif6ctl, mif6c_flags); O(mif6ctl, vifc_threshold);
  O(mif6ctl, mif6c_pifi); O(mif6ctl, vifc_rate_limit);
  Z(mf6cctl); O(mf6cctl, mf6cc_origin); O(mf6cctl, mf6cc_mcastgrp); O(mf6cctl, mf6cc_parent); O(mf6cctl, mf6cc_ifset);
  Z(sockaddr_in6); O(sockaddr_in6, sin6_family); O(sockaddr_in6, sin6_port); O(sockaddr_in6, sin6_flowinfo);
  O(sockaddr_in6, sin6_addr); O(sockaddr_in6, sin6_scope_id);
  Z(igmpmsg); O(igmpmsg, im_msgtype); O(igmpmsg, im_mbz); O(igmpmsg, im_vif); O(igmpmsg, im_vif_hi);
  O(igmpmsg, im_src); O(igmpmsg, im_dst);
  Z(mrt6msg); O(mrt6msg, im6_mbz); O(mrt6msg, im6_msgtype); O(mrt6msg, im6_mif); O(mrt6msg, im6_src); O(mrt6msg, im6_dst);
  Z(sioc_sg_req); O(sioc_sg_req, src); O(sioc_sg_req, grp); O(sioc_sg_req, pktcnt); O(sioc_sg_req, bytecnt); O(sioc_sg_req, wrong_if);
  Z(sioc_sg_req6); O(sioc_sg_req6, src); O(sioc_sg_req6, grp); O(sioc_sg_req6, pktcnt); O(sioc_sg_req6, bytecnt); O(sioc_sg_req6, wrong_if);
  Z(sioc_vif_req); O(sioc_vif_req, vifi); O(sioc_vif_req, icount); O(sioc_vif_req, ocount); O(sioc_vif_req, ibytes); O(sioc_vif_req, obytes);
  Z(sioc_mif_req6); O(sioc_mif_req6, mifi); O(sioc_mif_req6, icount); O(sioc_mif_req6, ocount); O(sioc_mif_req6, ibytes); O(sioc_mif_req6, obytes);
  Z(group_req); O(group_req, gr_interface); O(group_req, gr_group);
  Z(group_source_req); O(group_source_req, gsr_interface); O(group_source_req, gsr_group); O(group_source_req, gsr_source);
  Z(sockaddr_in); O(sockaddr_in, sin_family); O(sockaddr_in, sin_port); O(sockaddr_in, sin_addr);
  printf("\"MRT_INIT\":%d,\"MRT_TABLE\":%d,\"MRT_PIM\":%d,\"MRT_FLUSH\":%d,\"MRT_ADD_MFC\":%d,\"MRT6_ADD_MIF\":%d,",
         MRT_INIT, MRT_TABLE, MRT_PIM, MRT_FLUSH, MRT_ADD_MFC, MRT6_ADD_MIF);
  printf("\"SIOCGETSGCNT\":%d,\"SIOCGETVIFCNT\":%d,\"SIOCGETSGCNT_IN6\":%d,\"MCAST_JOIN_SOURCE_GROUP\":%d,\"MCAST_JOIN_GROUP\":%d,",
         SIOCGETSGCNT, SIOCGETVIFCNT, SIOCGETSGCNT_IN6, MCAST_JOIN_SOURCE_GROUP, MCAST_JOIN_GROUP);
  struct vifctl v; memset(&v, 0, sizeof v);
  v.vifc_vifi = 7; v.vifc_flags = VIFF_USE_IFINDEX; v.vifc_threshold = 3; v.vifc_rate_limit = 0x01020304;
  v.vifc_lcl_ifindex = 0x0a0b; hex("vifctl", &v, sizeof v);
  struct mfcctl m; memset(&m, 0, sizeof m);
  inet_pton(AF_INET, "10.1.2.3", &m.mfcc_origin); inet_pton(AF_INET, "239.4.5.6", &m.mfcc_mcastgrp);
  m.mfcc_parent = 0x0102; m.mfcc_ttls[0] = 1; m.mfcc_ttls[5] = 2; m.mfcc_ttls[31] = 254; hex("mfcctl", &m, sizeof m);
  struct mif6ctl x; memset(&x, 0, sizeof x);
  x.mif6c_mifi = 9; x.mif6c_flags = 1; x.vifc_threshold = 4; x.mif6c_pifi = 0x0304; x.vifc_rate_limit = 77; hex("mif6ctl", &x, sizeof x);
  struct mf6cctl y; memset(&y, 0, sizeof y);
  y.mf6cc_origin.sin6_family = AF_INET6; inet_pton(AF_INET6, "2001:db8::1", &y.mf6cc_origin.sin6_addr);
  y.mf6cc_mcastgrp.sin6_family = AF_INET6; inet_pton(AF_INET6, "ff3e::1234", &y.mf6cc_mcastgrp.sin6_addr);
  y.mf6cc_parent = 2; IF_SET(0, &y.mf6cc_ifset); IF_SET(3, &y.mf6cc_ifset); IF_SET(31, &y.mf6cc_ifset); IF_SET(40, &y.mf6cc_ifset);
  hex("mf6cctl", &y, sizeof y);
  struct group_source_req g; memset(&g, 0, sizeof g);
  g.gsr_interface = 5; struct sockaddr_in *gg = (struct sockaddr_in *)&g.gsr_group, *gs = (struct sockaddr_in *)&g.gsr_source;
  gg->sin_family = AF_INET; inet_pton(AF_INET, "232.1.1.1", &gg->sin_addr);
  gs->sin_family = AF_INET; inet_pton(AF_INET, "10.0.0.9", &gs->sin_addr);
  hex("group_source_req", &g, sizeof g);
  printf("\"end\":0}\n");
  return 0;
}
`;

function compile(): Record<string, number | string> {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeTextFileSync(`${dir}/s.c`, C_SOURCE);
    const cc = new Deno.Command("cc", { args: ["-o", `${dir}/s`, `${dir}/s.c`] }).outputSync();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const out = new Deno.Command(`${dir}/s`).outputSync();
    return JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const ip4 = (s: string) => s.split(".").reduce((a, p) => a * 256 + Number(p), 0);

const haveCc = haveTool("cc");

testIf(
  haveCc,
  "cc not installed",
  "mroute structs: every named offset and size matches the C compiler",
  () => {
    const c = compile();
    const expect: Array<[string, number]> = [
      ["vifctl.size", S.VIFCTL.size],
      ["vifctl.vifc_vifi", S.VIFCTL.vifi],
      ["vifctl.vifc_flags", S.VIFCTL.flags],
      ["vifctl.vifc_threshold", S.VIFCTL.threshold],
      ["vifctl.vifc_rate_limit", S.VIFCTL.rateLimit],
      ["vifctl.vifc_lcl_ifindex", S.VIFCTL.lclIfindex],
      ["vifctl.vifc_rmt_addr", S.VIFCTL.rmtAddr],
      ["mfcctl.size", S.MFCCTL.size],
      ["mfcctl.mfcc_origin", S.MFCCTL.origin],
      ["mfcctl.mfcc_mcastgrp", S.MFCCTL.mcastgrp],
      ["mfcctl.mfcc_parent", S.MFCCTL.parent],
      ["mfcctl.mfcc_ttls", S.MFCCTL.ttls],
      ["mfcctl.mfcc_pkt_cnt", S.MFCCTL.pktCnt],
      ["mfcctl.mfcc_byte_cnt", S.MFCCTL.byteCnt],
      ["mfcctl.mfcc_wrong_if", S.MFCCTL.wrongIf],
      ["mfcctl.mfcc_expire", S.MFCCTL.expire],
      ["mif6ctl.size", S.MIF6CTL.size],
      ["mif6ctl.mif6c_mifi", S.MIF6CTL.mifi],
      ["mif6ctl.mif6c_flags", S.MIF6CTL.flags],
      ["mif6ctl.vifc_threshold", S.MIF6CTL.threshold],
      ["mif6ctl.mif6c_pifi", S.MIF6CTL.pifi],
      ["mif6ctl.vifc_rate_limit", S.MIF6CTL.rateLimit],
      ["mf6cctl.size", S.MF6CCTL.size],
      ["mf6cctl.mf6cc_origin", S.MF6CCTL.origin],
      ["mf6cctl.mf6cc_mcastgrp", S.MF6CCTL.mcastgrp],
      ["mf6cctl.mf6cc_parent", S.MF6CCTL.parent],
      ["mf6cctl.mf6cc_ifset", S.MF6CCTL.ifset],
      ["sockaddr_in6.size", S.SOCKADDR_IN6.size],
      ["sockaddr_in6.sin6_family", S.SOCKADDR_IN6.family],
      ["sockaddr_in6.sin6_port", S.SOCKADDR_IN6.port],
      ["sockaddr_in6.sin6_flowinfo", S.SOCKADDR_IN6.flowinfo],
      ["sockaddr_in6.sin6_addr", S.SOCKADDR_IN6.addr],
      ["sockaddr_in6.sin6_scope_id", S.SOCKADDR_IN6.scopeId],
      ["igmpmsg.size", S.IGMPMSG.size],
      ["igmpmsg.im_msgtype", S.IGMPMSG.msgtype],
      ["igmpmsg.im_mbz", S.IGMPMSG.mbz],
      ["igmpmsg.im_vif", S.IGMPMSG.vif],
      ["igmpmsg.im_vif_hi", S.IGMPMSG.vifHi],
      ["igmpmsg.im_src", S.IGMPMSG.src],
      ["igmpmsg.im_dst", S.IGMPMSG.dst],
      ["mrt6msg.size", S.MRT6MSG.size],
      ["mrt6msg.im6_mbz", S.MRT6MSG.mbz],
      ["mrt6msg.im6_msgtype", S.MRT6MSG.msgtype],
      ["mrt6msg.im6_mif", S.MRT6MSG.mif],
      ["mrt6msg.im6_src", S.MRT6MSG.src],
      ["mrt6msg.im6_dst", S.MRT6MSG.dst],
      ["sioc_sg_req.size", S.SIOC_SG_REQ.size],
      ["sioc_sg_req.src", S.SIOC_SG_REQ.src],
      ["sioc_sg_req.grp", S.SIOC_SG_REQ.grp],
      ["sioc_sg_req.pktcnt", S.SIOC_SG_REQ.pktcnt],
      ["sioc_sg_req.bytecnt", S.SIOC_SG_REQ.bytecnt],
      ["sioc_sg_req.wrong_if", S.SIOC_SG_REQ.wrongIf],
      ["sioc_sg_req6.size", S.SIOC_SG_REQ6.size],
      ["sioc_sg_req6.src", S.SIOC_SG_REQ6.src],
      ["sioc_sg_req6.grp", S.SIOC_SG_REQ6.grp],
      ["sioc_sg_req6.pktcnt", S.SIOC_SG_REQ6.pktcnt],
      ["sioc_sg_req6.bytecnt", S.SIOC_SG_REQ6.bytecnt],
      ["sioc_sg_req6.wrong_if", S.SIOC_SG_REQ6.wrongIf],
      ["sioc_vif_req.size", S.SIOC_VIF_REQ.size],
      ["sioc_vif_req.vifi", S.SIOC_VIF_REQ.vifi],
      ["sioc_vif_req.icount", S.SIOC_VIF_REQ.icount],
      ["sioc_vif_req.ocount", S.SIOC_VIF_REQ.ocount],
      ["sioc_vif_req.ibytes", S.SIOC_VIF_REQ.ibytes],
      ["sioc_vif_req.obytes", S.SIOC_VIF_REQ.obytes],
      ["sioc_mif_req6.size", S.SIOC_MIF_REQ6.size],
      ["sioc_mif_req6.mifi", S.SIOC_MIF_REQ6.mifi],
      ["sioc_mif_req6.icount", S.SIOC_MIF_REQ6.icount],
      ["sioc_mif_req6.ocount", S.SIOC_MIF_REQ6.ocount],
      ["sioc_mif_req6.ibytes", S.SIOC_MIF_REQ6.ibytes],
      ["sioc_mif_req6.obytes", S.SIOC_MIF_REQ6.obytes],
      ["group_req.size", S.GROUP_REQ.size],
      ["group_req.gr_interface", S.GROUP_REQ.iface],
      ["group_req.gr_group", S.GROUP_REQ.group],
      ["group_source_req.size", S.GROUP_SOURCE_REQ.size],
      ["group_source_req.gsr_interface", S.GROUP_SOURCE_REQ.iface],
      ["group_source_req.gsr_group", S.GROUP_SOURCE_REQ.group],
      ["group_source_req.gsr_source", S.GROUP_SOURCE_REQ.source],
      ["sockaddr_in.size", S.SOCKADDR_IN.size],
      ["sockaddr_in.sin_family", S.SOCKADDR_IN.family],
      ["sockaddr_in.sin_port", S.SOCKADDR_IN.port],
      ["sockaddr_in.sin_addr", S.SOCKADDR_IN.addr],
      ["MRT_INIT", S.MRT_INIT],
      ["MRT_TABLE", S.MRT_TABLE],
      ["MRT_PIM", S.MRT_PIM],
      ["MRT_FLUSH", S.MRT_FLUSH],
      ["MRT_ADD_MFC", S.MRT_ADD_MFC],
      ["MRT6_ADD_MIF", S.MRT6_ADD_MIF],
      ["SIOCGETSGCNT", S.SIOCGETSGCNT],
      ["SIOCGETVIFCNT", S.SIOCGETVIFCNT],
      ["SIOCGETSGCNT_IN6", S.SIOCGETSGCNT_IN6],
      ["MCAST_JOIN_SOURCE_GROUP", S.MCAST_JOIN_SOURCE_GROUP],
      ["MCAST_JOIN_GROUP", S.MCAST_JOIN_GROUP],
    ];
    for (const [name, mine] of expect) assert.equal(mine, c[name], `${name}: mpp ${mine}, C ${c[name]}`);
  },
);

testIf(haveCc, "cc not installed", "mroute structs: encoders produce the bytes C produces", () => {
  const c = compile();
  assert.equal(
    hex(
      S.encodeVifctl({
        vifi: 7,
        flags: S.VIFF_USE_IFINDEX,
        threshold: 3,
        rateLimit: 0x01020304,
        ifindexOrAddr: 0x0a0b,
      }),
    ),
    c.vifctl,
  );
  const ttls = new Uint8Array(32);
  ttls[0] = 1;
  ttls[5] = 2;
  ttls[31] = 254;
  assert.equal(
    hex(S.encodeMfcctl({ origin: ip4("10.1.2.3"), group: ip4("239.4.5.6"), parent: 0x0102, ttls })),
    c.mfcctl,
  );
  assert.equal(
    hex(S.encodeMif6ctl({ mifi: 9, flags: 1, threshold: 4, pifi: 0x0304, rateLimit: 77 })),
    c.mif6ctl,
  );
  const a6 = (h: string) => Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
  assert.equal(
    hex(S.encodeMf6cctl({
      origin: a6("20010db8000000000000000000000001"),
      group: a6("ff3e0000000000000000000000001234"),
      parent: 2,
      oifs: [0, 3, 31, 40],
    })),
    c.mf6cctl,
  );
  assert.equal(hex(S.encodeGroupSourceReq(5, ip4("232.1.1.1"), ip4("10.0.0.9"))), c.group_source_req);
});

Deno.test("mroute structs: upcall decoding tells IGMPMSG from ordinary IGMP, 16-bit vif", () => {
  const b = new Uint8Array(28);
  b[8] = S.IGMPMSG_NOCACHE;
  b[10] = 3;
  b[11] = 1;
  b.set([10, 0, 0, 1], 12);
  b.set([239, 1, 2, 3], 16);
  assert.deepEqual(S.decodeIgmpmsg(b, 20), {
    type: 1,
    vif: 259,
    src: ip4("10.0.0.1"),
    dst: ip4("239.1.2.3"),
  });
  assert.equal(S.decodeIgmpmsg(b, 19), null, "too short");
  b[9] = 2; // protocol byte of a real IP header (IGMP)
  assert.equal(S.decodeIgmpmsg(b, 28), null);
  const m = new Uint8Array(40);
  m[1] = S.MRT6MSG_NOCACHE;
  m[2] = 2;
  m[8] = 0x20;
  m[24] = 0xff;
  const u = S.decodeMrt6msg(m, 40)!;
  assert.equal(u.type, 1);
  assert.equal(u.vif, 2);
  assert.equal((u.src as Uint8Array)[0], 0x20);
  assert.equal((u.dst as Uint8Array)[0], 0xff);
  m[0] = 0x87; // an ICMPv6 type, not an upcall
  assert.equal(S.decodeMrt6msg(m, 40), null);
});

Deno.test("mroute structs: counters decode as little-endian 64-bit", () => {
  const b = new Uint8Array(40);
  b[8] = 5;
  b[16] = 1;
  b[24] = 0x00;
  b[25] = 0x01;
  b[32] = 0xff;
  b[33] = 0xff;
  b[34] = 0xff;
  b[35] = 0xff;
  b[36] = 1;
  assert.deepEqual(S.decodeVifCounters(b), {
    inPackets: 5,
    outPackets: 1,
    inBytes: 256,
    outBytes: 2 ** 32 * 2 - 1,
  });
});
