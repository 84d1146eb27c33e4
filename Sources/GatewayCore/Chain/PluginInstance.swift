// One created plugin instance: a descriptor, the pointer create() returned, its host context and
// its cached metrics. Destroyed only through `destroy()`, on the control queue.
import CGatewayPlugin
import GatewayJSON
import Atomics
import Logging
import Metrics

// @unchecked: `descriptor` and `instance` are the plugin's (hooks callable from any thread, the
// header's Threading section); `destroyed` is read and written on the control queue only.
final class PluginInstance: @unchecked Sendable {
    let info: PluginInfo
    let entryName: String
    let descriptor: DescriptorPointer
    let instance: OpaquePointer?
    let context: PluginHostContext
    private let contextToken: OpaquePointer
    private var destroyed = false

    /// Counters are created once here, never per call (creating one takes a registry lock).
    let targetsErrors: Counter
    let filterErrors: Counter
    let validateErrors: Counter
    let thumbnailErrors: Counter
    let sendErrors: Counter
    let publishErrors: Counter
    let routedErrors: Counter
    let queryErrors: Counter
    /// Hook calls, per hook (gateway_plugin_calls_total): with the errors, what the admin console
    /// shows for each plugin.
    let targetsCalls: Counter
    let filterCalls: Counter
    let validateCalls: Counter
    let thumbnailCalls: Counter
    let publishCalls: Counter
    let routedCalls: Counter
    let queryCalls: Counter

    private init(library: PluginLibrary, entryName: String, instance: OpaquePointer?,
                 context: PluginHostContext, contextToken: OpaquePointer, metricsFactory: MetricsFactory?) {
        var info = library.info
        info.entryName = entryName
        self.info = info
        self.entryName = entryName
        self.descriptor = library.descriptor
        self.instance = instance
        self.context = context
        self.contextToken = contextToken
        func counter(_ label: String, _ hook: String) -> Counter {
            let dimensions = [("plugin", entryName), ("hook", hook)]
            if let metricsFactory {
                return Counter(label: label, dimensions: dimensions, factory: metricsFactory)
            }
            return Counter(label: label, dimensions: dimensions)
        }
        targetsErrors = counter("gateway_plugin_errors_total", "targets")
        filterErrors = counter("gateway_plugin_errors_total", "filter")
        validateErrors = counter("gateway_plugin_errors_total", "validate_attachment")
        thumbnailErrors = counter("gateway_plugin_errors_total", "thumbnail")
        targetsCalls = counter("gateway_plugin_calls_total", "targets")
        filterCalls = counter("gateway_plugin_calls_total", "filter")
        validateCalls = counter("gateway_plugin_calls_total", "validate_attachment")
        thumbnailCalls = counter("gateway_plugin_calls_total", "thumbnail")
        sendErrors = counter("gateway_plugin_errors_total", "send")
        publishErrors = counter("gateway_plugin_errors_total", "guard")
        routedErrors = counter("gateway_plugin_errors_total", "routed")
        publishCalls = counter("gateway_plugin_calls_total", "guard")
        routedCalls = counter("gateway_plugin_calls_total", "routed")
        queryErrors = counter("gateway_plugin_errors_total", "query")
        queryCalls = counter("gateway_plugin_calls_total", "query")
    }

    /// Calls create(). Must run on the control queue.
    /// `configDirectory`: the absolute folder of the config file (host->config_directory).
    static func create(library: PluginLibrary, entry: GatewayConfig.Plugin, logger: Logger,
                       metricsFactory: MetricsFactory?, services: PluginServiceDesk, configDirectory: String)
        -> Result<PluginInstance, PluginLoadError>
    {
        let context = PluginHostContext(entryName: entry.name, baseLogger: logger, services: services,
                                        configDirectory: configDirectory)
        let token = context.retainedToken()
        let config = ConfigJSON.object(entry.config)
        var message = gw_message()
        let instance = PluginChain.readDescriptor(library.descriptor).create(HostServices.table, token, config.pointer, &message)
        guard let instance else {
            PluginHostContext.release(token)  // no destroy() will follow a failed create()
            let reason = messageText(&message)
            return .failure(PluginLoadError(
                code: PluginLoadError.Code.createFailed, file: library.path, plugin: entry.name,
                message: "\(library.path): plugin '\(library.info.name)' refused the configuration of entry '\(entry.name)': \(reason.isEmpty ? "create() returned NULL without a reason" : reason)"))
        }
        return .success(PluginInstance(library: library, entryName: entry.name, instance: instance,
                                       context: context, contextToken: token, metricsFactory: metricsFactory))
    }

    /// Calls destroy() once. Must run on the control queue, after every hook call has returned.
    func destroy() {
        guard !destroyed else { return }
        destroyed = true
        PluginChain.readDescriptor(descriptor).destroy(instance)
        PluginHostContext.release(contextToken)
    }

    /// Hook failures seen so far. A filter failing for every recipient of every event would
    /// otherwise write millions of log lines a second; the counter metric still counts them all.
    private let failuresSeen = ManagedAtomic<Int>(0)
    static let failuresLoggedInFull = 20
    static let failureLogInterval = 1_000

    /// The failure's ordinal when it should be logged: the first few, then one in a thousand.
    private func failureToLog() -> Int? {
        let ordinal = failuresSeen.loadThenWrappingIncrement(ordering: .relaxed) + 1
        if ordinal <= Self.failuresLoggedInFull || ordinal % Self.failureLogInterval == 0 { return ordinal }
        return nil
    }

    func logFailure(hook: String, result: gw_result, message: inout gw_message) {
        guard let ordinal = failureToLog() else { return }
        let reason = Self.messageText(&message)
        context.logger.warning("plugin hook failed", metadata: [
            "hook": .string(hook), "result": .stringConvertible(result),
            "reason": .string(reason.isEmpty ? "(no message)" : reason),
            "failures": .stringConvertible(ordinal),
        ])
    }

    func logInvalid(hook: String, _ what: String) {
        guard let ordinal = failureToLog() else { return }
        context.logger.warning("plugin hook returned an invalid result", metadata: [
            "hook": .string(hook), "reason": .string(what), "failures": .stringConvertible(ordinal),
        ])
    }

    /// The stable code and HTTP status an ABI 1.2 plugin set (gw_message_refuse()); nil for each
    /// it left empty. A 1.0/1.1 plugin never writes them: the host zeroes them before the call.
    static func refusalCode(_ message: inout gw_message) -> (code: String?, status: Int?) {
        let code = withUnsafeBytes(of: &message.code) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let status = Int(message.http_status)
        return (code.isEmpty ? nil : code, (400...499).contains(status) ? status : nil)
    }

    static func messageText(_ message: inout gw_message) -> String {
        withUnsafeBytes(of: &message.text) { raw in
            // The writer must NUL-terminate, but a buggy plugin may not: never read past the buffer.
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
    }
}
