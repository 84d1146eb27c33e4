import GatewayJSON
import GatewayStore

/// The JSON a client sees for a stored attachment: in the 201 of an upload and, expanded from
/// its id, inside every event that carries it.
enum AttachmentDescriptor {
    static func src(of id: String) -> String { "\(AttachmentRoutes.uploadPath)/\(id)" }

    static func json(_ record: AttachmentRecord) -> JSON {
        let descriptor = JSON.object()
        descriptor.set("id", record.id)
        descriptor.set("type", record.type)
        descriptor.set("mime", record.mime)
        descriptor.set("size", .integer(Int(record.size)))
        descriptor.set("sha256", record.sha256)
        descriptor.set("name", record.name)
        descriptor.set("src", src(of: record.id))
        if let thumbnail = record.thumbnail {
            let box = JSON.object()
            box.set("src", src(of: record.id) + "/thumbnail")
            box.set("width", .integer(thumbnail.width))
            box.set("height", .integer(thumbnail.height))
            box.set("mime", thumbnail.mime)
            descriptor.set("thumbnail", box)
        }
        return descriptor
    }
}

/// What the uploader told us about the file, before any plugin looked at it.
struct DeclaredFile: Sendable {
    var type: String
    var mime: String
    var name: String

    /// "image" for image/* (those get thumbnails), otherwise "file" — unless the client names a
    /// type itself (a custom type such as chat_api's "pdf").
    static func defaultType(forMIME mime: String) -> String {
        mime.hasPrefix("image/") ? "image" : "file"
    }

    /// `Content-Type: image/PNG; charset=x` → "image/png"; nil/empty → application/octet-stream.
    static func normalizedMIME(_ header: String?) -> String {
        let bare = (header ?? "").split(separator: ";", maxSplits: 1).first.map(String.init)?.trimmingSpaces().lowercased() ?? ""
        return bare.isEmpty ? "application/octet-stream" : bare
    }

    /// A display name only (never a path): the last path component, no control characters,
    /// at most 255 bytes.
    static func sanitizedName(_ raw: String?) -> String {
        var name = raw ?? ""
        if let slash = name.lastIndex(where: { $0 == "/" || $0 == "\\" }) {
            name = String(name[name.index(after: slash)...])
        }
        name = String(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        name = name.trimmingSpaces()
        while name.utf8.count > 255 { name.removeLast() }
        return name.isEmpty || name == "." || name == ".." ? "attachment" : name
    }
}
