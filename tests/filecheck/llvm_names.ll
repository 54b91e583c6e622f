; RUN: dropfilter --dump-llvm 'udp dst port 53'
; Values and blocks keep readable names; every load is guarded by caplen,
; and the one return merges accept (1) and reject (0).
; CHECK: define{{.*}} i32 @dw_filter(ptr {{.*}}%data, i32 %caplen, i32 %wirelen)
; CHECK: %pkt0.inside = icmp ugt i32 %caplen, 13
; CHECK: phi i32 [ 1, %accept ]
; CHECK: %pkt0.raw = load i16
