import ArgumentParser

/// Root command: one subcommand per scenario of issue 4. Each prints one JSON line
/// (machine-readable, parsed by bench/compare.sh) followed by a human-readable table.
struct GatewayBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-bench",
        abstract: "WebSocket fan-out load client for the Chat Gateway and nchan.",
        subcommands: [FanoutCommand.self, PersonalCommand.self, IdleCommand.self, ReloadCommand.self, ClusterCommand.self,
                      HostileCommand.self, AttackCommand.self, RoomsCommand.self]
    )
}
