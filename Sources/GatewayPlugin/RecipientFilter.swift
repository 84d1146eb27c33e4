// Types of the recipient-filter hook.
import CJansson
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum FilterDecision {
    /// Deliver the event unchanged (GW_OK).
    case deliver
    /// Do not deliver it to this recipient (GW_DROP).
    case drop
    /// Deliver this value instead (GW_REDACT). Build it fresh, e.g. with `JSONView.mutableCopy()`.
    case redact(JSON)
}

/// The recipient of an event, borrowed from the host for one hook call:
/// {"id": "alice", "principals": [...], "host": "..."}.
public struct Recipient {
    public let json: JSONView

    public init(_ json: JSONView) { self.json = json }

    public var id: String? { json["id"].string }
    public var host: String? { json["host"].string }
    public var principals: [String] { json["principals"].strings ?? [] }

    /// True when the recipient's principals (or its id) include any of `candidates`.
    /// Compares C strings in place: no allocation per recipient on the hot path.
    public func holdsAny(of candidates: [String]) -> Bool {
        if candidates.isEmpty { return false }
        for candidate in candidates {
            let found = candidate.withCString { wanted -> Bool in
                if Self.equals(json["id"].pointer, wanted) { return true }
                // json_array_size is 0 for anything but an array, so a malformed recipient matches nothing.
                guard let list = json["principals"].pointer else { return false }
                for index in 0..<json_array_size(list) where Self.equals(json_array_get(list, index), wanted) {
                    return true
                }
                return false
            }
            if found { return true }
        }
        return false
    }

    private static func equals(_ value: UnsafeMutablePointer<json_t>?, _ wanted: UnsafePointer<CChar>) -> Bool {
        guard let value, let text = json_string_value(value) else { return false }
        return strcmp(text, wanted) == 0
    }
}

extension JSONView {
    /// A deep copy the caller owns and may modify (the view itself is read-only and shared).
    public func mutableCopy() -> JSON? {
        guard let pointer, let copy = json_deep_copy(pointer) else { return nil }
        return JSON(owning: copy)
    }
}
