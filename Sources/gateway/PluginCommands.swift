// `gateway plugin inspect PATH` and `gateway check --config FILE`: the operator's way to see why a
// plugin or a config would be refused, without starting the server.
import ArgumentParser
import Foundation
import GatewayCore
import GatewayServer
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct PluginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugin",
        abstract: "Work with handler plugins.",
        subcommands: [PluginInspectCommand.self])
}

struct PluginInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what a plugin shared object declares, or exactly why the gateway would refuse it.")

    @Argument(help: "Path of the plugin shared object (.so).")
    var path: String

    func run() throws {
        switch PluginInspector.inspect(path: path) {
        case .success(let info):
            print(PluginReport.describe(info))
        case .failure(let error):
            printError("refused: \(error)")
            throw ExitCode.failure
        }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Parse a config and load every enabled plugin without serving; print every error.")

    @Option(name: .long, help: "The configuration file.")
    var config: String = "gateway.conf"

    func run() throws {
        let configuration: GatewayConfig
        switch ConfigLoader.load(path: config) {
        case .success(let loaded): configuration = loaded
        case .failure(let errors):
            for error in errors.errors { printError("\(error)") }  // already "file:line:column: code: message"
            printError("\(config): \(errors.errors.count) error(s); no plugin was loaded")
            throw ExitCode.failure
        }

        // TLS files are read as a start reads them: a bad pair is found here, not at the next start.
        do {
            if let serial = try checkTLSFiles(of: configuration) { print("\(config): TLS certificate serial \(serial)") }
        } catch {
            printError("\(config): \(error.code): \(error.message)")
            throw ExitCode.failure
        }

        // Plugin log lines during create()/destroy() go to stderr so stdout stays the report.
        let logger = Logger(label: "gateway.check") { label in StreamLogHandler.standardError(label: label) }
        let host = PluginHost(logger: logger)
        switch host.makeChain(configuration.plugins, pluginDirectory: configuration.pluginDirectory,
                              baseDirectory: configuration.baseDirectory) {
        case .success(let chain):
            print("\(config): OK, \(chain.plugins.count) plugin(s) enabled")
            for info in chain.plugins {
                print("  \(info.entryName ?? info.name): \(info.name) \(info.version) [\(info.capabilities.joined(separator: ", "))] \(info.path)")
            }
        case .failure(let errors):
            for error in errors { printError("\(config): \(error)") }
            printError("\(config): \(errors.count) plugin error(s)")
            throw ExitCode.failure
        }
        // The chain was just released: let destroy() run before the process exits.
        PluginHost.waitForPendingDestroys()
    }
}

enum PluginReport {
    static func describe(_ info: PluginInfo) -> String {
        var lines = [
            "name:            \(info.name)",
            "version:         \(info.version)",
            "abi:             \(info.abiMajor).\(info.abiMinor)",
            "capabilities:    \(info.capabilities.isEmpty ? "(none)" : info.capabilities.joined(separator: ", "))",
        ]
        if info.capabilities.contains("category_targets") {
            lines.append("categories:      \(info.categories.map { $0.joined(separator: ", ") } ?? "(decided per event)")")
        }
        lines.append("build signature: \(info.buildSignature ?? "(none)")")
        lines.append("path:            \(info.path)")
        return lines.joined(separator: "\n")
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
