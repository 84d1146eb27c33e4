// Module GatewayServer — see Package.swift for its place in the flow.
