import GatewayJSON

/// What one recipient gets of one event — the shared bytes, nothing, or its own redacted copy —
/// decided by the recipient-filter plugins. The one place that decides it: live delivery,
/// replay of missed events and the history endpoint all ask here.
///
/// Fails closed: a stored event that no longer parses is not shown to a recipient when filters
/// are configured (they could not have checked it).
public enum RecipientView {
    public enum Outcome: Sendable {
        /// Deliver the event as published (the shared encoded bytes).
        case shared
        case dropped
        /// Deliver this copy instead (owned by the caller).
        case redacted(JSON)
    }

    /// A live event, filtered with the chain it was routed with and its per-event plan.
    public static func outcome(of event: OutboundEvent, for recipient: Recipient) -> Outcome {
        guard !event.filterPlan.isEmpty else { return .shared }
        return outcome(event.chain.filter(event.event.json.view, for: recipient, plan: event.filterPlan))
    }

    /// A recorded event (replay): the bytes to send, or nil when the recipient must not see it.
    public static func bytes(of recorded: RecordedEvent, for recipient: Recipient, chain: PluginChain) -> [UInt8]? {
        guard chain.hasRecipientFilters else { return recorded.payload }
        guard let document = try? JSON.parse(recorded.payload) else { return nil }
        switch outcome(chain.filter(document.view, for: recipient)) {
        case .shared: return recorded.payload
        case .dropped: return nil
        case .redacted(let copy): return copy.encoded()
        }
    }

    /// A recorded event as a JSON document (the history endpoint), or nil when the recipient
    /// must not see it.
    public static func document(of recorded: RecordedEvent, for recipient: Recipient, chain: PluginChain) -> JSON? {
        guard let document = try? JSON.parse(recorded.payload) else { return nil }
        guard chain.hasRecipientFilters else { return document }
        switch outcome(chain.filter(document.view, for: recipient)) {
        case .shared: return document
        case .dropped: return nil
        case .redacted(let copy): return copy
        }
    }

    private static func outcome(_ filtered: PluginChain.FilterOutcome) -> Outcome {
        switch filtered {
        case .deliver: return .shared
        case .drop: return .dropped
        case .redacted(let copy): return .redacted(copy)
        }
    }
}
