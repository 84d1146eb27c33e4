import ArgumentParser

/// `gateway` — run the chat gateway, check a config, inspect plugins, mint development tokens,
/// and chat from a terminal.
@main
struct Gateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "A plugin-based realtime chat gateway.",
        subcommands: [RunCommand.self, CheckCommand.self, PluginCommand.self, MessengerCommand.self, TokenCommand.self,
                      ChatCommand.self],
        defaultSubcommand: RunCommand.self)
}
