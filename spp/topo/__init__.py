"""`topo`: the picture of processes, components, ports and links, from controller status."""
