import GatewayCore
import GatewayJSON
import GatewayStore
import Logging
import NIOHTTP1

/// The slow half of an upload, run on the blocking pool once every byte is on disk:
/// validation plugins → (images) thumbnail plugins → content-addressed commit.
/// Any refusal aborts the upload, so nothing of a refused file stays in the store.
struct AttachmentIngest {
    let store: AttachmentStore
    let chain: PluginChain
    let thumbnailWidth: Int
    let thumbnailHeight: Int
    let logger: Logger

    func run(_ upload: UploadFile, declared: DeclaredFile, owner: String) -> HTTPResponse {
        switch ingest(upload, declared: declared, owner: owner) {
        case .success(let record):
            var headers = HTTPHeaders()
            headers.add(name: "Location", value: AttachmentDescriptor.src(of: record.id))
            return .json(.created, AttachmentDescriptor.json(record), headers: headers)
        case .failure(let error):
            upload.abort()
            return .error(error)
        }
    }

    private func ingest(_ upload: UploadFile, declared: DeclaredFile, owner: String) -> Result<AttachmentRecord, GatewayError> {
        let size = Int(upload.size)
        guard size > 0 else { return .failure(.attachmentEmpty()) }
        guard let mapped = MappedFile(path: upload.temporaryPath, size: size) else {
            logger.error("cannot map an upload for validation", metadata: ["path": "\(upload.temporaryPath)"])
            return .failure(.attachmentStorageFailed())
        }
        if let refusal = validate(mapped.bytes, declared: declared) { return .failure(refusal) }
        var thumbnail: (bytes: [UInt8], mime: String, width: Int, height: Int)?
        if declared.type == "image" {
            switch makeThumbnail(mapped.bytes, mime: declared.mime) {
            case .success(let made): thumbnail = made
            case .failure(let refusal): return .failure(refusal)
            }
        }
        do throws(StoreError) {
            let record = try store.commit(upload, type: declared.type, mime: declared.mime, name: declared.name, owner: owner)
            guard let thumbnail else { return .success(record) }
            try store.storeThumbnail(for: record.id, bytes: thumbnail.bytes, mime: thumbnail.mime,
                                     width: thumbnail.width, height: thumbnail.height)
            return .success(try store.record(id: record.id) ?? record)
        } catch {
            logger.error("cannot store an attachment", metadata: ["error": "\(error)"])
            return .failure(.attachmentStorageFailed())
        }
    }

    private func validate(_ bytes: UnsafeRawBufferPointer, declared: DeclaredFile) -> GatewayError? {
        let metadata = JSON.object()
        metadata.set("type", declared.type)
        metadata.set("name", declared.name)
        metadata.set("mime", declared.mime)
        metadata.set("size", .integer(bytes.count))
        switch chain.validateAttachment(metadata: metadata.view, bytes: bytes) {
        case .accepted:
            return nil
        case .rejected(_, let message, let code, let status):
            return AttachmentRefusal.error(message: message, code: code, status: status, stage: .validation,
                                           contradictsDeclaredType: ContentSignature.contradicts(mime: declared.mime, bytes: bytes))
        case .failed(let plugin, let message):
            return .attachmentPluginFailed(plugin, message)
        }
    }

    private func makeThumbnail(_ bytes: UnsafeRawBufferPointer, mime: String)
        -> Result<(bytes: [UInt8], mime: String, width: Int, height: Int)?, GatewayError>
    {
        switch chain.thumbnail(bytes: bytes, mime: mime, maxWidth: thumbnailWidth, maxHeight: thumbnailHeight) {
        case .thumbnail(let data, let thumbMime, let width, let height):
            return .success((data, thumbMime, width, height))
        case .notHandled:
            // No thumbnail plugin for this image format: the image is stored without a thumbnail.
            return .success(nil)
        case .rejected(_, let message, let code, let status):
            return .failure(AttachmentRefusal.error(message: message, code: code, status: status, stage: .thumbnail,
                                                    contradictsDeclaredType: false))
        case .failed(let plugin, let message):
            return .failure(.attachmentPluginFailed(plugin, message))
        }
    }
}
