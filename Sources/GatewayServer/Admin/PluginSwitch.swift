import Foundation
import GatewayCore
import Logging
import NIOConcurrencyHelpers

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The [[plugins]] entries in force, and the one place that changes them while the gateway runs:
/// a SIGHUP reload (the re-read gateway.conf) and the admin console's toggles both come through
/// here, one at a time, so the console always lists what actually runs.
final class PluginSwitch: Sendable {
    private struct Source {
        var entries: [GatewayConfig.Plugin]
        var pluginDirectory: String?
        var baseDirectory: String
        var configPath: String?
    }

    private let host: PluginHost
    private let chain: ChainReference
    private let logger: Logger
    /// Held while a chain is built and swapped, so two changes never interleave.
    private let source: NIOLockedValueBox<Source>

    init(config: GatewayConfig, host: PluginHost, chain: ChainReference, logger: Logger) {
        self.host = host
        self.chain = chain
        self.logger = logger
        source = NIOLockedValueBox(Source(entries: config.plugins, pluginDirectory: config.pluginDirectory,
                                          baseDirectory: config.baseDirectory, configPath: config.sourcePath))
    }

    /// All entries, enabled or not, in chain order.
    var entries: [GatewayConfig.Plugin] { source.withLockedValue { $0.entries } }

    /// SIGHUP: builds the chain of a re-read config and swaps it in; on any error nothing changes.
    func reload(_ config: GatewayConfig) -> Result<PluginChain, [PluginLoadError]> {
        source.withLockedValue { source in
            let built = host.makeChain(config.plugins, pluginDirectory: config.pluginDirectory,
                                       baseDirectory: config.baseDirectory)
            if case .success(let fresh) = built {
                chain.replace(with: fresh)
                source = Source(entries: config.plugins, pluginDirectory: config.pluginDirectory,
                                baseDirectory: config.baseDirectory, configPath: config.sourcePath ?? source.configPath)
            }
            return built
        }
    }

    /// Turns one entry on or off, applied like a SIGHUP reload (connections stay open; the next
    /// event uses the new chain). With `persist`, the entry's `enabled` is also written to
    /// gateway.conf, every other byte of the file kept. Loads plugins: call it off the event loops.
    func setEnabled(_ entryName: String, _ enabled: Bool, persist: Bool) throws(GatewayError) {
        let outcome: Result<Void, GatewayError> = source.withLockedValue { source in
            guard let index = source.entries.firstIndex(where: { $0.name == entryName }) else {
                return .failure(GatewayError(code: "admin.unknown_plugin",
                                             message: "No [[plugins]] entry is named '\(entryName)'.", status: 404))
            }
            var edited: (path: String, text: String)?
            if persist {
                switch Self.editedConfig(source.configPath, entryName: entryName, enabled: enabled) {
                case .success(let file): edited = file
                case .failure(let error): return .failure(error)
                }
            }
            var entries = source.entries
            entries[index].enabled = enabled
            switch host.makeChain(entries, pluginDirectory: source.pluginDirectory, baseDirectory: source.baseDirectory) {
            case .success(let fresh):
                chain.replace(with: fresh)
                source.entries = entries
            case .failure(let errors):
                return .failure(GatewayError(code: "admin.plugin_load_failed",
                                             message: errors.map(\.description).joined(separator: "; "), status: 422))
            }
            if let edited, let failure = Self.replaceFile(edited.path, with: edited.text) {
                return .failure(GatewayError(
                    code: "admin.config_write_failed",
                    message: "The change is applied but \(edited.path) could not be written (\(failure)); it is lost at the next reload.",
                    status: 500))
            }
            return .success(())
        }
        try outcome.get()
    }

    private static func editedConfig(_ path: String?, entryName: String, enabled: Bool)
        -> Result<(path: String, text: String), GatewayError>
    {
        func refuse(_ message: String) -> GatewayError {
            GatewayError(code: "admin.config_not_editable", message: message + " Nothing was changed.", status: 409)
        }
        guard let path else { return .failure(refuse("This gateway was not started from a config file.")) }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            return .failure(refuse("\(path) cannot be read."))
        }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        switch ConfigFileEdit.settingPluginEnabled(text, entry: entryName, enabled: enabled, fileName: fileName) {
        case .success(let edited): return .success((path, edited))
        case .failure(let error): return .failure(refuse(error.description + "."))
        }
    }

    /// Writes a sibling file and renames it over `path` (keeping its permissions): a reader sees
    /// the old file or the new one, never half of each. nil on success, else the reason.
    private static func replaceFile(_ path: String, with text: String) -> String? {
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let target = realpath(path, &resolved) != nil ? String(cString: resolved) : path
        var info = stat()
        let mode = stat(target, &info) == 0 ? info.st_mode & 0o7777 : 0o644
        let temporary = target + ".admin-\(getpid()).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary, target) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return reason
        }
        return nil
    }
}
