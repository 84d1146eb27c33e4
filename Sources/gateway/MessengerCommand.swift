// `gateway messenger test ALIAS ADDRESS`: send a test message through one configured messenger
// (sitemessage's send_test_message), to check its server, credentials and the address.
import ArgumentParser
import GatewayCore
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct MessengerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messenger",
        abstract: "Work with messenger plugins (offline delivery).",
        subcommands: [MessengerTestCommand.self])
}

struct MessengerTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Send a test message through a configured messenger; exit 0 only when it was sent.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "gateway.conf"

    @Argument(help: "The messenger's alias: the name of its [[plugins]] entry (e.g. smtp).")
    var alias: String

    @Argument(help: "Where to send it: an email address, a Telegram chat id, ...")
    var address: String

    func run() throws {
        let configuration: GatewayConfig
        switch ConfigLoader.load(path: config) {
        case .success(let loaded): configuration = loaded
        case .failure(let errors):
            for error in errors.errors { printError("\(error)") }
            throw ExitCode.failure
        }
        // Load only the entry asked for: a test must not depend on every other plugin's config.
        guard let entry = configuration.plugins.first(where: { $0.name == alias && $0.enabled }) else {
            let names = configuration.plugins.filter(\.enabled).map(\.name)
            printError("messenger.unknown: no enabled [[plugins]] entry named '\(alias)' in \(config) (enabled: \(names.joined(separator: ", ")))")
            throw ExitCode.failure
        }
        let logger = Logger(label: "gateway.messenger") { label in StreamLogHandler.standardError(label: label) }
        let chain: PluginChain
        switch PluginHost(logger: logger).makeChain([entry], pluginDirectory: configuration.pluginDirectory,
                                                    baseDirectory: configuration.baseDirectory) {
        case .success(let made): chain = made
        case .failure(let errors):
            for error in errors { printError("\(error)") }
            throw ExitCode.failure
        }
        guard chain.hasMessenger(alias) else {
            printError("messenger.not_a_messenger: plugin '\(alias)' (\(chain.plugins.first?.name ?? "?")) has no messenger capability")
            throw ExitCode.failure
        }
        let outcome = chain.sendTest(alias: alias, address: address)
        switch outcome {
        case .sent:
            print("sent: test message to \(address) through '\(alias)'")
        case .retryLater(let code, let reason):
            printError("not sent (temporary, \(code)): \(reason)")
            throw ExitCode(2)
        case .refused(let code, let reason):
            printError("refused (\(code)): \(reason)")
            throw ExitCode.failure
        case .unknownMessenger:
            printError("messenger.unknown: '\(alias)' is not loaded")
            throw ExitCode.failure
        }
    }
}
