// The slow hooks: attachment validation and thumbnails. Both block (decoding images); the caller
// runs them on a blocking-work pool, never on an event loop.
import CGatewayPlugin
import CJansson
import GatewayJSON

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension PluginChain {
    public enum AttachmentVerdict: Sendable, Equatable {
        case accepted
        /// Refused for a reason the client should see (HTTP 4xx). `plugin` is the entry name, or
        /// "gateway" when the refusal is the host's own (no plugin accepted the attachment).
        /// `code` and `status` are what an ABI 1.2 plugin set with gw_message_refuse() (nil when
        /// it did not: the caller applies the stage's default).
        case rejected(plugin: String, message: String, code: String? = nil, status: Int? = nil)
        /// A plugin failed (HTTP 5xx); already logged and counted.
        case failed(plugin: String, message: String)
    }

    /// Asks every attachment-validation plugin in chain order. The first GW_REJECT or GW_ERROR
    /// decides; otherwise the attachment is accepted only if at least one plugin said GW_OK.
    /// When all skip (or none is configured) it is REJECTED with "no plugin accepts this
    /// attachment type": an attachment type nobody vouches for is not stored.
    public func validateAttachment(metadata: JSONView, bytes: UnsafeRawBufferPointer?) -> AttachmentVerdict {
        let metadataPointer = metadata.pointer
        let byteStart = bytes?.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let byteCount = byteStart == nil ? 0 : bytes!.count
        var accepted = false
        for hook in validationHooks {
            var message = gw_message()
            hook.plugin.validateCalls.increment()
            let result = hook.call(hook.plugin.instance, metadataPointer, byteStart, byteCount, &message)
            switch result {
            case Int32(GW_OK): accepted = true
            case Int32(GW_SKIP): continue
            case Int32(GW_REJECT):
                let reason = PluginInstance.messageText(&message)
                let coded = PluginInstance.refusalCode(&message)
                return .rejected(plugin: hook.plugin.entryName,
                                 message: reason.isEmpty ? "attachment rejected" : reason,
                                 code: coded.code, status: coded.status)
            default:
                hook.plugin.logFailure(hook: "validate_attachment", result: result, message: &message)
                hook.plugin.validateErrors.increment()
                let reason = PluginInstance.messageText(&message)
                return .failed(plugin: hook.plugin.entryName,
                               message: reason.isEmpty ? "attachment validation failed" : reason)
            }
        }
        return accepted ? .accepted : .rejected(plugin: "gateway", message: "no plugin accepts this attachment type")
    }

    public enum ThumbnailOutcome: Sendable, Equatable {
        case thumbnail(bytes: [UInt8], mime: String, width: Int, height: Int)
        /// No thumbnail plugin handles this MIME type (all returned GW_SKIP, or none configured).
        case notHandled
        case rejected(plugin: String, message: String, code: String? = nil, status: Int? = nil)
        case failed(plugin: String, message: String)
    }

    /// The first thumbnail plugin (chain order) that does not skip makes the thumbnail. A result
    /// that is empty or does not fit the box counts as that plugin failing.
    public func thumbnail(bytes: UnsafeRawBufferPointer, mime: String, maxWidth: Int, maxHeight: Int) -> ThumbnailOutcome {
        guard let start = bytes.baseAddress, bytes.count > 0 else {
            return .rejected(plugin: "gateway", message: "the image is empty")
        }
        guard maxWidth > 0, maxHeight > 0, maxWidth <= Int(UInt32.max), maxHeight <= Int(UInt32.max) else {
            return .failed(plugin: "gateway", message: "invalid thumbnail box \(maxWidth)x\(maxHeight)")
        }
        return mime.withCString { mimePointer in
            var request = gw_thumbnail_request(
                struct_size: MemoryLayout<gw_thumbnail_request>.size,
                bytes: start.assumingMemoryBound(to: UInt8.self), length: bytes.count, mime: mimePointer,
                max_width: UInt32(maxWidth), max_height: UInt32(maxHeight))
            for hook in thumbnailHooks {
                var result = gw_thumbnail_result()
                result.struct_size = MemoryLayout<gw_thumbnail_result>.size
                var message = gw_message()
                hook.plugin.thumbnailCalls.increment()
                let code = hook.call(hook.plugin.instance, &request, &result, &message)
                switch code {
                case Int32(GW_SKIP): continue
                case Int32(GW_OK):
                    return Self.takeThumbnail(&result, from: hook.plugin, maxWidth: maxWidth, maxHeight: maxHeight)
                case Int32(GW_REJECT):
                    let reason = PluginInstance.messageText(&message)
                    let coded = PluginInstance.refusalCode(&message)
                    return .rejected(plugin: hook.plugin.entryName, message: reason.isEmpty ? "image rejected" : reason,
                                     code: coded.code, status: coded.status)
                default:
                    hook.plugin.logFailure(hook: "thumbnail", result: code, message: &message)
                    hook.plugin.thumbnailErrors.increment()
                    let reason = PluginInstance.messageText(&message)
                    return .failed(plugin: hook.plugin.entryName, message: reason.isEmpty ? "thumbnail failed" : reason)
                }
            }
            return .notHandled
        }
    }

    /// Copies and frees the plugin's buffer (host->alloc is malloc), checking what it claims.
    private static func takeThumbnail(_ result: inout gw_thumbnail_result, from plugin: PluginInstance,
                                      maxWidth: Int, maxHeight: Int) -> ThumbnailOutcome {
        defer { free(result.bytes) }
        let mime = withUnsafeBytes(of: &result.mime) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let width = Int(result.width), height = Int(result.height)
        let problem: String?
        if result.bytes == nil || result.length == 0 {
            problem = "GW_OK without thumbnail bytes"
        } else if mime.isEmpty {
            problem = "GW_OK without a MIME type"
        } else if width <= 0 || height <= 0 || width > maxWidth || height > maxHeight {
            problem = "thumbnail \(width)x\(height) does not fit the \(maxWidth)x\(maxHeight) box"
        } else {
            problem = nil
        }
        if let problem {
            plugin.logInvalid(hook: "thumbnail", problem)
            plugin.thumbnailErrors.increment()
            return .failed(plugin: plugin.entryName, message: problem)
        }
        let bytes = [UInt8](UnsafeBufferPointer(start: result.bytes, count: result.length))
        return .thumbnail(bytes: bytes, mime: mime, width: width, height: height)
    }
}
