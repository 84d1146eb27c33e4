// The messenger hook's payload (gw_delivery) and answer, in Swift values.
import CGatewayPlugin

/// One event for one recipient through this messenger. Borrowed: valid during `send` only.
public struct Delivery {
    /// The event as the recipient would have received it over WebSocket.
    public let event: JSONView
    /// {"id": ..., "principals": [...]}.
    public let recipient: JSONView
    /// The recipient's address for this messenger (never empty).
    public let address: String
    /// This messenger's alias: the [[plugins]] entry name.
    public let alias: String
    /// 1 on the first try.
    public let attempt: Int
    /// Stable across retries and restarts: use it to de-duplicate (a Message-ID).
    public let deliveryID: String
}

public enum SendResult: Equatable, Sendable {
    /// GW_OK.
    case sent
    /// GW_RETRY: temporary failure, with a stable code ("smtp.unreachable") and a reason.
    case retryLater(code: String, reason: String)
    /// GW_REJECT: permanent, never retried.
    case refused(code: String, reason: String)
    /// `sendTest` not provided: the SDK sends a synthetic event through `send` instead.
    case notImplemented
}
