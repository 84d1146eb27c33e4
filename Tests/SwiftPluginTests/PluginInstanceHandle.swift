// Calls one plugin instance's hooks through the descriptor's C function pointers.
import CGatewayPlugin
import CJansson
import GatewayJSON

struct HookAnswer {
    let result: gw_result
    /// The *_out value, owned by the test (the hook handed over a new reference).
    let output: JSON?
    let message: String

    /// Reads the output while keeping it alive: a JSONView borrows, so the owning JSON must
    /// outlive every read (a temporary `answer.output?.view[...]` may be freed mid-expression).
    func read<T>(_ body: (JSONView) -> T?) -> T? {
        guard let output else { return nil }
        return withExtendedLifetime(output) { body(output.view) }
    }

    /// targets_out's "principals" array.
    var principals: [String]? { read { $0["principals"].strings } }
}

// @unchecked: `instance` is the plugin's; its hooks may be called from any thread (the header).
struct PluginInstanceHandle: @unchecked Sendable {
    let library: PluginLibrary
    let instance: OpaquePointer
    /// Kept alive with the instance: its address is the instance's host context.
    let host: TestHost

    func destroy() { library.descriptor.pointee.destroy!(instance) }

    func targets(_ eventText: String) throws -> HookAnswer {
        let event = try JSON.parse(eventText)
        return targets(event)
    }

    func targets(_ event: JSON) -> HookAnswer {
        var out: UnsafeMutablePointer<json_t>?
        var message = gw_message()
        let result = library.descriptor.pointee.on_targets!(instance, event.pointer, &out, &message)
        return HookAnswer(result: result, output: out.map { JSON(owning: $0) }, message: text(of: &message))
    }

    func filter(_ event: JSON, recipient: JSON) -> HookAnswer {
        var out: UnsafeMutablePointer<json_t>?
        var message = gw_message()
        let result = library.descriptor.pointee.on_filter!(instance, event.pointer, recipient.pointer, &out, &message)
        return HookAnswer(result: result, output: out.map { JSON(owning: $0) }, message: text(of: &message))
    }

    func validate(_ metadataText: String, bytes: [UInt8]?) throws -> HookAnswer {
        let metadata = try JSON.parse(metadataText)
        var message = gw_message()
        let result: gw_result
        if let bytes {
            result = bytes.withUnsafeBufferPointer { buffer in
                library.descriptor.pointee.on_validate_attachment!(instance, metadata.pointer, buffer.baseAddress,
                                                                   buffer.count, &message)
            }
        } else {
            result = library.descriptor.pointee.on_validate_attachment!(instance, metadata.pointer, nil, 0, &message)
        }
        return HookAnswer(result: result, output: nil, message: text(of: &message))
    }
}

/// The reference count of a value handed to us: 1 means we hold the only reference.
func referenceCount(_ value: JSON) -> Int { Int(value.pointer.pointee.refcount) }
