// Builds a PluginChain from the [[plugins]] entries of gateway.conf: resolve each library,
// open and validate it, create the instance. Used at start, on reload and by `gateway check`.
import Foundation
import Logging
import Metrics

public final class PluginHost: Sendable {
    private let logger: Logger
    private let metricsFactory: MetricsFactory?
    /// What plugins may ask of the running gateway (ABI 1.3 publish, set_member_state): the
    /// server attaches itself once built.
    public let services: PluginServiceDesk

    /// `metricsFactory`: where plugin error counters go; nil uses the bootstrapped MetricsSystem.
    public init(logger: Logger, metricsFactory: MetricsFactory? = nil, services: PluginServiceDesk = PluginServiceDesk()) {
        self.logger = logger
        self.metricsFactory = metricsFactory
        self.services = services
    }

    /// Loads every ENABLED entry in order. Bare library names resolve against `pluginDirectory`
    /// (nil: the folder of the running executable); other relative paths, and a relative
    /// `pluginDirectory`, against `baseDirectory` (the config file's folder).
    /// Collects ALL errors; on any error returns them all and destroys the instances it created,
    /// so a bad reload leaves the running chain untouched.
    public func makeChain(_ entries: [GatewayConfig.Plugin], pluginDirectory: String?,
                          baseDirectory: String) -> Result<PluginChain, [PluginLoadError]> {
        let directory = Self.resolveDirectory(pluginDirectory, baseDirectory: baseDirectory)
        let configDirectory = Self.absolute(baseDirectory)
        return PluginControlQueue.sync {
            var errors: [PluginLoadError] = []
            var instances: [PluginInstance] = []
            var seenNames: Set<String> = []
            for entry in entries {
                let path = Self.resolveLibrary(entry.library, pluginDirectory: directory, baseDirectory: baseDirectory)
                guard seenNames.insert(entry.name).inserted else {
                    errors.append(PluginLoadError(
                        code: PluginLoadError.Code.duplicateName, file: path, plugin: entry.name,
                        message: "\(path): entry name '\(entry.name)' (line \(entry.line)) is already used by an earlier [[plugins]] entry; names must be unique"))
                    continue
                }
                guard entry.enabled else { continue }
                let library: PluginLibrary
                switch PluginLibraryLoader.load(path: path, entryName: entry.name) {
                case .success(let loaded): library = loaded
                case .failure(let error): errors.append(error); continue
                }
                switch PluginInstance.create(library: library, entry: entry, logger: logger, metricsFactory: metricsFactory,
                                             services: services, configDirectory: configDirectory) {
                case .success(let instance): instances.append(instance)
                case .failure(let error): errors.append(error)
                }
            }
            guard errors.isEmpty else {
                // Already on the control queue: destroy now, not via a chain's deinit.
                for instance in instances.reversed() { instance.destroy() }
                return .failure(errors)
            }
            return .success(PluginChain(instances: instances))
        }
    }

    /// Waits until every destroy() queued by released chains has run (shutdown, tests).
    public static func waitForPendingDestroys() {
        PluginControlQueue.sync {}
    }

    static func resolveDirectory(_ configured: String?, baseDirectory: String) -> String {
        guard let configured else { return executableDirectory() }
        return configured.hasPrefix("/") ? configured : join(baseDirectory, configured)
    }

    static func resolveLibrary(_ library: String, pluginDirectory: String, baseDirectory: String) -> String {
        if library.hasPrefix("/") { return library }
        if library.contains("/") { return join(baseDirectory, library) }
        let direct = join(pluginDirectory, library)
        // Convenience: `library = "CategoryTargets"` finds libCategoryTargets.so.
        if !FileManager.default.fileExists(atPath: direct), !library.hasSuffix(".so"), !library.hasSuffix(".dylib") {
            let conventional = join(pluginDirectory, "lib\(library).so")
            if FileManager.default.fileExists(atPath: conventional) { return conventional }
        }
        return direct
    }

    private static func join(_ directory: String, _ name: String) -> String {
        let base = directory.isEmpty ? "." : directory
        return base.hasSuffix("/") ? base + name : base + "/" + name
    }

    /// `directory` as an absolute, standardized path ("." and ".." resolved against the working
    /// directory now): plugins get it from config_directory() and may use it later, from any
    /// thread, after the gateway's working directory means nothing to them.
    static func absolute(_ directory: String) -> String {
        let path = directory.hasPrefix("/") ? directory
            : join(FileManager.default.currentDirectoryPath, directory.isEmpty ? "." : directory)
        let standardized = (path as NSString).standardizingPath
        return standardized.isEmpty ? "/" : standardized
    }

    /// The folder of the running executable (where `swift build` puts the bundled plugins).
    static func executableDirectory() -> String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }
}
