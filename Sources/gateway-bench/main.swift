// gateway-bench: the load client for the gateway and for nchan (see bench/README.md).
GatewayBench.main()
