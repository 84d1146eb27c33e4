import CJansson
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import GatewayJSON

/// The members of a published event that EventNormalizer knows, found in one pass over the
/// object. Looking each known name up (a hash of the key, a view retaining its owner) cost about
/// fifty lookups per event, two thirds of normalizing; a chat event has five to eight members.
struct EventFields {
    /// Every field the normalizer reads. `countdown` and `fallback` are instructions to the
    /// gateway (DeliveryInstructions), never part of the delivered event.
    enum Name: Int, CaseIterable {
        case action, category, status, title, message, url, timestamp, host, type, channel, image
        case modal, source, target, attachments, data, id, countdown, fallback

        var key: String {
            switch self {
            case .action: return "action"
            case .category: return "category"
            case .status: return "status"
            case .title: return "title"
            case .message: return "message"
            case .url: return "url"
            case .timestamp: return "timestamp"
            case .host: return "host"
            case .type: return "type"
            case .channel: return "channel"
            case .image: return "image"
            case .modal: return "modal"
            case .source: return "source"
            case .target: return "target"
            case .attachments: return "attachments"
            case .data: return "data"
            case .id: return "id"
            case .countdown: return "countdown"
            case .fallback: return "fallback"
            }
        }
    }

    /// The fields that must be strings (or null) when present.
    static let stringFields: [Name] = [.action, .category, .status, .title, .message, .url, .timestamp, .host, .type, .channel, .image]
    /// The fields that must be true or false (or null) when present.
    static let boolFields: [Name] = [.modal]

    /// UTF-8 of each name, by raw value.
    private static let keys: [[UInt8]] = Name.allCases.map { Array($0.key.utf8) }

    /// By raw value: the member's value, nil when the event has no such member.
    private var values: [JSONPointer?]
    /// Members whose names the normalizer does not know.
    private(set) var unknownCount = 0

    /// `object` must outlive this value (its views borrow the members).
    init(_ object: JSONView) {
        values = Array(repeating: nil, count: Self.keys.count)
        guard object.isObject, let pointer = object.pointer else { return }
        var iterator = json_object_iter(pointer)
        while let current = iterator {
            let key = UnsafeRawBufferPointer(start: json_object_iter_key(current), count: json_object_iter_key_len(current))
            if let index = Self.index(of: key) {
                values[index] = json_object_iter_value(current)
            } else {
                unknownCount += 1
            }
            iterator = json_object_iter_next(pointer, current)
        }
    }

    subscript(_ name: Name) -> JSONView { JSONView(values[name.rawValue]) }

    /// The string value of `name`, as a new reference to the same json_t (no copy); nil when
    /// missing or not a string.
    func sharedString(_ name: Name) -> JSON? {
        let value = self[name]
        return value.kind == .string ? value.retained() : nil
    }

    private static func index(of key: UnsafeRawBufferPointer) -> Int? {
        guard let start = key.baseAddress else { return nil }
        for index in keys.indices where keys[index].count == key.count {
            if keys[index].withUnsafeBytes({ memcmp($0.baseAddress!, start, key.count) }) == 0 { return index }
        }
        return nil
    }
}
