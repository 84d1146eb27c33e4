// The per-event hooks: targets (once per event) and recipient filters (once per event and
// recipient). Both run on the event loops at high rates, so they avoid allocating when no
// plugin answers and never let a plugin's failure escape as more than one degraded event.
import CGatewayPlugin
import CJansson
import GatewayJSON

extension PluginChain {
    /// The union (first-seen order) of the principals that the category-targets plugins
    /// handling `event["category"]` computed, in chain order.
    ///
    /// - nil: no plugin answered (none handles the category, or all returned GW_SKIP); the caller
    ///   falls back to its own routing (the event's `target`).
    /// - []: a plugin that handles the category failed (GW_ERROR, or a result that is not
    ///   {"principals": [strings]}) and no other answered. The header's rule for GW_ERROR is
    ///   "deliver to no computed targets": failing closed, never broadcasting.
    /// Failures are logged with the plugin's name and counted in gateway_plugin_errors_total.
    public func targets(for event: JSONView) -> [String]? {
        guard !targetsHooks.isEmpty, let eventPointer = event.pointer else { return nil }
        let categoryValue = json_object_get(eventPointer, "category")
        let category = categoryValue.flatMap { json_string_value($0) }
        var principals: [String]? = nil
        var answers = 0
        var failed = false
        for hook in targetsHooks where hook.handles(category: category) {
            var message = gw_message()
            var output: UnsafeMutablePointer<json_t>? = nil
            hook.plugin.targetsCalls.increment()
            let result = hook.call(hook.plugin.instance, eventPointer, &output, &message)
            switch result {
            case Int32(GW_SKIP):
                continue
            case Int32(GW_OK):
                guard let output else {
                    hook.plugin.logInvalid(hook: "targets", "GW_OK without targets_out")
                    hook.plugin.targetsErrors.increment()
                    failed = true
                    continue
                }
                defer { json_decref(output) }
                guard let answer = Self.principals(in: output) else {
                    hook.plugin.logInvalid(hook: "targets", "targets_out is not {\"principals\": [strings]}")
                    hook.plugin.targetsErrors.increment()
                    failed = true
                    continue
                }
                answers += 1
                if principals == nil { principals = answer } else { principals!.append(contentsOf: answer) }
            default:
                // The header says *_out is only ours on GW_OK; a plugin that set it anyway leaks.
                hook.plugin.logFailure(hook: "targets", result: result, message: &message)
                hook.plugin.targetsErrors.increment()
                failed = true
            }
        }
        guard var principals else { return failed ? [] : nil }
        if principals.count > 1 { principals = Self.uniqued(principals) }
        return principals
    }

    /// Passes `event` through every recipient filter in chain order. A redacted copy is what the
    /// next filter sees. GW_ERROR, unknown results and an invalid redaction drop the event for
    /// this recipient (fail closed: a broken privacy filter must not leak), logged and counted.
    public func filter(_ event: JSONView, for recipient: Recipient) -> FilterOutcome {
        filter(event, for: recipient, plan: FilterPlan(all: filterHooks.count))
    }

    /// Which filters must see an event recipient by recipient: asked once per event (ABI 1.1
    /// on_filter_event) so a filter that only concerns some messages costs nothing per recipient
    /// on all the others. Filters without the hook (ABI 1.0) are always in the plan.
    public func filterPlan(for event: JSONView) -> FilterPlan {
        guard !filterHooks.isEmpty, let eventPointer = event.pointer else { return FilterPlan(indexes: []) }
        var indexes: [Int] = []
        for (index, hook) in filterHooks.enumerated() {
            guard let prepare = hook.prepare else {
                indexes.append(index)
                continue
            }
            var message = gw_message()
            if prepare(hook.plugin.instance, eventPointer, &message) != Int32(GW_SKIP) { indexes.append(index) }
        }
        return FilterPlan(indexes: indexes)
    }

    /// The filters of `plan`, in chain order (see `filter(_:for:)`).
    public func filter(_ event: JSONView, for recipient: Recipient, plan: FilterPlan) -> FilterOutcome {
        guard !plan.isEmpty, let eventPointer = event.pointer else { return .deliver }
        let recipientPointer = recipient.json.pointer
        var redacted: JSON? = nil
        for index in plan.indexes {
            let hook = filterHooks[index]
            var message = gw_message()
            var output: UnsafeMutablePointer<json_t>? = nil
            let current = redacted?.pointer ?? eventPointer
            hook.plugin.filterCalls.increment()
            let result = hook.call(hook.plugin.instance, current, recipientPointer, &output, &message)
            switch result {
            case Int32(GW_OK), Int32(GW_SKIP):
                continue
            case Int32(GW_DROP):
                return .drop
            case Int32(GW_REDACT):
                guard let output else {
                    hook.plugin.logInvalid(hook: "filter", "GW_REDACT without redacted_out")
                    hook.plugin.filterErrors.increment()
                    return .drop
                }
                let replacement = JSON(owning: output)
                guard output.pointee.type == JSON_OBJECT else {
                    hook.plugin.logInvalid(hook: "filter", "redacted_out is not an object")
                    hook.plugin.filterErrors.increment()
                    return .drop
                }
                redacted = replacement
            default:
                hook.plugin.logFailure(hook: "filter", result: result, message: &message)
                hook.plugin.filterErrors.increment()
                return .drop
            }
        }
        if let redacted { return .redacted(redacted) }
        return .deliver
    }

    public struct FilterPlan: Sendable {
        let indexes: [Int]
        init(indexes: [Int]) { self.indexes = indexes }
        init(all count: Int) { indexes = Array(0..<count) }
        /// No filter needs to see this event: deliver the shared frame to everyone.
        public var isEmpty: Bool { indexes.isEmpty }
    }

    public enum FilterOutcome: Sendable {
        case deliver
        case drop
        /// Deliver this object instead of the event (a new value owned by the caller).
        case redacted(JSON)
    }

    /// The strings of `value["principals"]`, or nil unless it is an array of strings only.
    private static func principals(in value: UnsafeMutablePointer<json_t>) -> [String]? {
        guard value.pointee.type == JSON_OBJECT, let array = json_object_get(value, "principals"),
              array.pointee.type == JSON_ARRAY else { return nil }
        let count = json_array_size(array)
        var result: [String] = []
        result.reserveCapacity(count)
        for index in 0..<count {
            guard let element = json_array_get(array, index), element.pointee.type == JSON_STRING,
                  let text = json_string_value(element) else { return nil }
            let length = json_string_length(element)
            result.append(text.withMemoryRebound(to: UInt8.self, capacity: length) {
                String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
            })
        }
        return result
    }

    private static func uniqued(_ values: [String]) -> [String] {
        var seen = Set<String>(minimumCapacity: values.count)
        return values.filter { seen.insert($0).inserted }
    }
}
