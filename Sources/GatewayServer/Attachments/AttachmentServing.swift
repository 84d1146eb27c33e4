import GatewayAuth
import GatewayCore
import GatewayStore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// Builds the answer to GET|HEAD of a stored attachment or its thumbnail. Blocking pool only.
struct AttachmentServing {
    enum Variant: Sendable { case original, thumbnail }

    let service: AttachmentService

    func response(id: String, variant: Variant, identity: Identity, head: HTTPRequestHead) -> HTTPResponse {
        let record: AttachmentRecord
        do throws(StoreError) {
            guard try service.mayRead(id: id, identity: identity), let found = try service.store.record(id: id) else {
                // Unknown and not-shared look the same, so probing ids reveals nothing.
                return .error(.attachmentForbidden(id))
            }
            record = found
        } catch {
            service.logger.error("attachment lookup failed", metadata: ["id": "\(id)", "error": "\(error)"])
            return .error(.attachmentStorageFailed())
        }
        let sha256: String, mime: String, size: Int64
        switch variant {
        case .original:
            (sha256, mime, size) = (record.sha256, record.mime, record.size)
        case .thumbnail:
            guard let thumbnail = record.thumbnail else { return .error(.attachmentNoThumbnail(id)) }
            (sha256, mime, size) = (thumbnail.sha256, thumbnail.mime, thumbnail.size)
        }
        let path = service.store.filePath(sha256: sha256)
        guard fileSize(path) == size else {
            service.logger.error("a stored attachment file is missing or changed", metadata: ["id": "\(id)", "path": "\(path)"])
            return .error(.attachmentStorageFailed())
        }
        let etag = "\"\(sha256)\""
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: mime)
        headers.add(name: "ETag", value: etag)
        headers.add(name: "X-Content-Type-Options", value: "nosniff")
        headers.add(name: "Accept-Ranges", value: "bytes")
        // Per-user access: shared caches must not keep it. Content never changes under an id.
        headers.add(name: "Cache-Control", value: "private, max-age=31536000, immutable")
        headers.add(name: "Content-Disposition", value: Self.contentDisposition(name: record.name, variant: variant, mime: mime))

        if let match = head.headers.first(name: "If-None-Match"), Self.matches(match, etag: etag) {
            var response = HTTPResponse(status: .notModified, contentType: mime, body: [], headers: headers)
            response.headers.remove(name: "Content-Length")
            return response
        }
        var rangeHeader = head.headers.first(name: "Range")
        // If-Range with another validator: the client's partial copy is stale, send everything.
        if let ifRange = head.headers.first(name: "If-Range"), ifRange.trimmingSpaces() != etag { rangeHeader = nil }
        switch ByteRange.resolve(rangeHeader, size: size) {
        case .whole:
            return .file(.ok, .init(path: path, offset: 0, length: size), headers: headers)
        case .partial(let offset, let length):
            headers.add(name: "Content-Range", value: "bytes \(offset)-\(offset + length - 1)/\(size)")
            return .file(.partialContent, .init(path: path, offset: offset, length: length), headers: headers)
        case .unsatisfiable:
            var extra = HTTPHeaders()
            extra.add(name: "Content-Range", value: "bytes */\(size)")
            return .error(.attachmentRangeNotSatisfiable(size), headers: extra)
        }
    }

    /// Images and thumbnails display inline; anything else downloads, so a browser never renders
    /// uploaded HTML or SVG in the gateway's origin.
    static func contentDisposition(name: String, variant: Variant, mime: String) -> String {
        let inline = variant == .thumbnail || ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(mime)
        let fileName = variant == .thumbnail ? "thumbnail-" + name : name
        let ascii = String(fileName.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar != "\"" && scalar != "\\" && scalar.value >= 0x20 ? Character(scalar) : "_"
        })
        return "\(inline ? "inline" : "attachment"); filename=\"\(ascii)\"; filename*=UTF-8''\(percentEncoded(fileName))"
    }

    private static let hexDigits = Array("0123456789ABCDEF")

    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let unreserved = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                result.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                result += "%" + String(hexDigits[Int(byte >> 4)]) + String(hexDigits[Int(byte & 0x0F)])
            }
        }
        return result
    }

    /// If-None-Match: "*" or a comma-separated list of (possibly weak) entity tags.
    static func matches(_ header: String, etag: String) -> Bool {
        header.split(separator: ",").contains { candidate in
            var tag = String(candidate).trimmingSpaces()
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == etag
        }
    }

    private func fileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }
}
