// The on_thumbnail hook: the plugin returns Swift bytes, the SDK copies them into memory from
// host->alloc() so the host can take ownership on GW_OK (and nothing is allocated otherwise).
import CGatewayPlugin

func thumbnailHook(
    _ instance: OpaquePointer?, _ request: UnsafePointer<gw_thumbnail_request>?,
    _ output: UnsafeMutablePointer<gw_thumbnail_result>?, _ message: CMessagePointer?
) -> gw_result {
    guard let plugin = PluginInstance.from(instance), let hook = plugin.thumbnail else {
        CMessage.write("plugin.no_instance: on_thumbnail called without a valid instance", to: message)
        return result(GW_ERROR)
    }
    guard let request, let output, let bytes = request.pointee.bytes else {
        CMessage.write("plugin.bad_request: on_thumbnail called with a NULL request, result or bytes", to: message)
        return result(GW_ERROR)
    }
    let swiftRequest = ThumbnailRequest(
        bytes: UnsafeRawBufferPointer(start: bytes, count: request.pointee.length),
        mime: request.pointee.mime.map { String(cString: $0) } ?? "",
        maxWidth: Int(request.pointee.max_width), maxHeight: Int(request.pointee.max_height))
    do {
        switch try hook(swiftRequest) {
        case .skip:
            return result(GW_SKIP)
        case .reject(let reason):
            CMessage.write(reason, to: message)
            return result(GW_REJECT)
        case let .thumbnail(thumbnailBytes, mime, width, height):
            return fill(output, bytes: thumbnailBytes, mime: mime, width: width, height: height,
                        host: plugin.host, message: message)
        }
    } catch {
        CMessage.write(describe(error), to: message)
        return result(GW_ERROR)
    }
}

private func fill(
    _ output: UnsafeMutablePointer<gw_thumbnail_result>, bytes: [UInt8], mime: String, width: Int, height: Int,
    host: PluginHost, message: CMessagePointer?
) -> gw_result {
    let mimeBytes = Array(mime.utf8)
    let mimeCapacity = MemoryLayout.size(ofValue: output.pointee.mime)
    guard !bytes.isEmpty, mimeBytes.count < mimeCapacity,
          let width = UInt32(exactly: width), let height = UInt32(exactly: height) else {
        CMessage.write("plugin.bad_thumbnail: empty thumbnail, MIME type too long, or invalid size", to: message)
        return result(GW_ERROR)
    }
    guard let buffer = host.allocate(bytes.count) else {
        CMessage.write("plugin.out_of_memory: could not allocate \(bytes.count) thumbnail bytes", to: message)
        return result(GW_ERROR)
    }
    bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
    output.pointee.bytes = buffer.assumingMemoryBound(to: UInt8.self)
    output.pointee.length = bytes.count
    withUnsafeMutableBytes(of: &output.pointee.mime) { raw in
        for (index, byte) in mimeBytes.enumerated() { raw[index] = byte }
        raw[mimeBytes.count] = 0
    }
    output.pointee.width = width
    output.pointee.height = height
    return result(GW_OK)
}
