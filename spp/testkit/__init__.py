"""What tests, the benchmark and the soak run use to drive and observe SPP.

Frames (`frames`), capture and injection on an interface (`capture`), paced
traffic (`traffic`, `stream`), free ports and polling (`wait`), a small tmpfs
that fills up (`tmpfs`), named child processes (`procs`), the real
controller/primary/spp_vf stack (`stack`) and the e2e lock (`session`). It
drives the product from outside, through its CLI, REST API and the network;
nothing in the product imports it (a unit test walks the imports to prove it).
"""
