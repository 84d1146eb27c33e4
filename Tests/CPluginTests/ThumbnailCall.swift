// Calls on_thumbnail / on_validate_attachment of a loaded instance and copies the outcome into
// Swift values (freeing the plugin's buffer with host->free, as the host would).
import CGatewayPlugin
import CJansson
import Foundation
import GatewayJSON

struct ThumbnailOutcome {
    let result: gw_result
    let bytes: [UInt8]
    let mime: String
    let width: Int
    let height: Int
    let message: String
    let handedBackBytes: Bool
    let seconds: Double
}

extension CPluginInstance {
    func thumbnail(_ bytes: [UInt8], mime: String, box: (UInt32, UInt32) = (100, 100)) -> ThumbnailOutcome {
        // The ABI promises a non-NULL pointer; an empty upload still gets a valid (unused) one.
        let storage = bytes.isEmpty ? [0] : bytes
        var result = gw_thumbnail_result()
        result.struct_size = MemoryLayout<gw_thumbnail_result>.size
        var message = gw_message()
        let start = DispatchTime.now().uptimeNanoseconds
        let code: gw_result = storage.withUnsafeBufferPointer { buffer in
            mime.withCString { mimePointer in
                var request = gw_thumbnail_request(
                    struct_size: MemoryLayout<gw_thumbnail_request>.size, bytes: buffer.baseAddress,
                    length: bytes.count, mime: mimePointer, max_width: box.0, max_height: box.1)
                return descriptor.pointee.on_thumbnail(instance, &request, &result, &message)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        var output: [UInt8] = []
        if let pointer = result.bytes {
            output = Array(UnsafeBufferPointer(start: pointer, count: result.length))
            CTestHost.services.pointee.free(pointer)
        }
        let mimeOut = withUnsafeBytes(of: result.mime) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return ThumbnailOutcome(result: code, bytes: output, mime: mimeOut, width: Int(result.width),
                                height: Int(result.height), message: message.string,
                                handedBackBytes: result.bytes != nil, seconds: seconds)
    }

    func validate(_ bytes: [UInt8]?, metadata: String) throws -> (result: gw_result, message: String) {
        let metadata = try JSON.parse(metadata)
        var message = gw_message()
        let code: gw_result
        if let bytes {
            code = bytes.withUnsafeBufferPointer { buffer in
                descriptor.pointee.on_validate_attachment(instance, metadata.pointer, buffer.baseAddress, buffer.count, &message)
            }
        } else {
            code = descriptor.pointee.on_validate_attachment(instance, metadata.pointer, nil, 0, &message)
        }
        return (code, message.string)
    }
}
