// Builds the C fixture plugins once per test process (cc, into a temporary folder) and offers a
// logger and a metrics factory that record what the host did.
import CoreMetrics
import Foundation
import GatewayCore
import Logging
import Synchronization
import Testing

enum Fixtures {
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sourceDirectory = repositoryRoot.appendingPathComponent("Tests/PluginHostTests/Fixtures")

    /// name of the built .so → (source file, extra cc flags)
    static let builds: [(name: String, source: String, flags: [String])] = [
        ("libgood.so", "good.c", []),
        ("libgood-v1_0.so", "good.c", ["-DPLUGIN_NAME=\"fixture-abi-1.0\"", "-DAS_ABI_1_0"]),
        ("libgood-wildcard.so", "good.c", ["-DPLUGIN_NAME=\"fixture-wildcard\"", "-DCATEGORY_LIST_WILDCARD"]),
        ("libgood-nocategories.so", "good.c", ["-DPLUGIN_NAME=\"fixture-nocategories\"", "-DCATEGORY_LIST_NONE"]),
        ("libgood-v1_1.so", "good.c", ["-DPLUGIN_NAME=\"fixture-abi-1.1\"", "-DAS_ABI_1_1"]),
        ("libother-swift.so", "good.c", ["-DPLUGIN_NAME=\"fixture-other-swift\"",
                                         "-DBUILD_SIGNATURE=\"GatewayPlugin Swift SDK; ABI 1.2; swift-5.9.0\""]),
        ("libmessenger.so", "messenger.c", []),
        ("libguard.so", "guard.c", []),
        ("libguard-blocking.so", "guard.c", ["-DMAY_BLOCK"]),
        ("libbad-major.so", "refusals.c", ["-DREFUSAL_BAD_MAJOR"]),
        ("libtoo-small.so", "refusals.c", ["-DREFUSAL_TOO_SMALL"]),
        ("libtiny.so", "refusals.c", ["-DREFUSAL_TINY"]),
        ("libno-entry.so", "refusals.c", ["-DREFUSAL_NO_ENTRY"]),
        ("libnull-descriptor.so", "refusals.c", ["-DREFUSAL_NULL_DESCRIPTOR"]),
        ("libnull-name.so", "refusals.c", ["-DREFUSAL_NULL_NAME"]),
        ("libmissing-hook.so", "refusals.c", ["-DREFUSAL_MISSING_HOOK"]),
        ("libunknown-capability.so", "refusals.c", ["-DREFUSAL_UNKNOWN_CAPABILITY"]),
    ]

    /// The folder holding every built fixture, or the compiler's complaint.
    static let built: Result<String, FixtureBuildError> = build()

    struct FixtureBuildError: Error, CustomStringConvertible { let description: String }

    static func directory() throws -> String { try built.get() }

    static func path(_ name: String) throws -> String { try directory() + "/" + name }

    private static let folderPrefix = "plugin-host-fixtures-"

    private static func build() -> Result<String, FixtureBuildError> {
        removeFoldersOfFinishedRuns()
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(folderPrefix)\(getpid())").path
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: sourceDirectory.appendingPathComponent("not_a_shared_object.txt").path,
                                             toPath: folder + "/not_a_shared_object.so")
        } catch {
            return .failure(FixtureBuildError(description: "cannot prepare \(folder): \(error)"))
        }
        let include = repositoryRoot.appendingPathComponent("Sources/CGatewayPlugin/include").path
        for build in builds {
            let arguments = ["-shared", "-fPIC", "-O1", "-I", include] + build.flags
                + ["-o", folder + "/" + build.name, sourceDirectory.appendingPathComponent(build.source).path, "-ljansson"]
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["cc"] + arguments
            let errors = Pipe()
            process.standardError = errors
            do { try process.run() } catch {
                return .failure(FixtureBuildError(description: "cannot run cc: \(error)"))
            }
            let output = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                return .failure(FixtureBuildError(description: "cc failed for \(build.name): \(String(decoding: output, as: UTF8.self))"))
            }
        }
        return .success(folder)
    }

    /// Each run builds into its own folder (runs may overlap); remove those whose process is gone.
    private static func removeFoldersOfFinishedRuns() {
        let temporary = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: temporary.path)) ?? []
        for name in names where name.hasPrefix(folderPrefix) {
            guard let pid = Int32(name.dropFirst(folderPrefix.count)), pid != getpid(),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: temporary.appendingPathComponent(name))
        }
    }

    static func entry(_ name: String, _ library: String, enabled: Bool = true,
                      _ config: [(key: String, value: ConfigValue)] = [], line: Int = 0) -> GatewayConfig.Plugin {
        GatewayConfig.Plugin(name: name, library: library, enabled: enabled, config: config, line: line)
    }

    /// Builds a chain from fixture entries, failing the test with every error when it cannot.
    static func chain(_ entries: [GatewayConfig.Plugin], recorder: LogRecorder = LogRecorder(),
                      metrics: RecordingMetrics? = nil) throws -> PluginChain {
        let host = PluginHost(logger: recorder.logger, metricsFactory: metrics)
        switch host.makeChain(entries, pluginDirectory: try directory(), baseDirectory: "/") {
        case .success(let chain): return chain
        case .failure(let errors):
            Issue.record("makeChain failed: \(errors.map(\.description).joined(separator: "; "))")
            throw errors
        }
    }
}

/// A Logger whose lines (message + metadata) are kept for assertions.
final class LogRecorder: Sendable {
    struct Line: Sendable { let level: Logger.Level; let message: String; let metadata: [String: String] }
    private let stored = Mutex<[Line]>([])

    var lines: [Line] { stored.withLock { $0 } }
    var messages: [String] { lines.map(\.message) }

    func append(_ line: Line) { stored.withLock { $0.append(line) } }

    var logger: Logger {
        var logger = Logger(label: "plugin-host-tests") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            recorder.append(Line(level: event.level, message: event.message.description,
                                 metadata: merged.mapValues { $0.description }))
        }
    }
}

/// Counts counter increments per label + dimensions ("gateway_plugin_errors_total plugin=a hook=filter").
final class RecordingMetrics: MetricsFactory, Sendable {
    private let totals = Mutex<[String: Int64]>([:])

    func total(_ label: String, _ dimensions: [(String, String)]) -> Int64 {
        let key = Self.key(label, dimensions)
        return totals.withLock { $0[key] ?? 0 }
    }

    fileprivate func add(_ key: String, _ amount: Int64) { totals.withLock { $0[key, default: 0] += amount } }

    static func key(_ label: String, _ dimensions: [(String, String)]) -> String {
        ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: " ")
    }

    final class Handle: CounterHandler, RecorderHandler, TimerHandler, FloatingPointCounterHandler, Sendable {
        let key: String
        weak let owner: RecordingMetrics?
        init(key: String, owner: RecordingMetrics) { self.key = key; self.owner = owner }
        func increment(by amount: Int64) { owner?.add(key, amount) }
        func increment(by amount: Double) {}
        func reset() {}
        func record(_ value: Int64) {}
        func record(_ value: Double) {}
        func recordNanoseconds(_ duration: Int64) {}
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> CounterHandler {
        Handle(key: Self.key(label, dimensions), owner: self)
    }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> FloatingPointCounterHandler {
        Handle(key: Self.key(label, dimensions), owner: self)
    }
    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> RecorderHandler {
        Handle(key: Self.key(label, dimensions), owner: self)
    }
    func makeTimer(label: String, dimensions: [(String, String)]) -> TimerHandler {
        Handle(key: Self.key(label, dimensions), owner: self)
    }
    func destroyCounter(_ handler: CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: RecorderHandler) {}
    func destroyTimer(_ handler: TimerHandler) {}
}

/// The result of work started on another thread, waited for once.
final class PendingResult<Value: Sendable>: Sendable {
    private let value = Mutex<Value?>(nil)
    private let done = DispatchSemaphore(value: 0)

    func fulfil(_ result: Value) {
        value.withLock { $0 = result }
        done.signal()
    }

    func wait() -> Value {
        done.wait()
        return value.withLock { $0! }
    }
}

extension DispatchQueue {
    /// Runs `work` on this queue; the caller waits for its result with `wait()`.
    func asyncResult<Value: Sendable>(_ work: @escaping @Sendable () -> Value) -> PendingResult<Value> {
        let pending = PendingResult<Value>()
        async { pending.fulfil(work()) }
        return pending
    }
}
