// Module GatewayStore — see Package.swift for its place in the flow.
