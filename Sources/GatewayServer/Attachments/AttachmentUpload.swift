import GatewayAuth
import GatewayCore
import GatewayStore
import NIOCore
import NIOPosix

/// One POST /api/v1/attachments in flight. Lives on its channel's event loop.
///
/// Memory stays bounded whatever the file size: each chunk is written to the upload's temp file
/// on the blocking pool, in order, and the connection stops reading (autoRead off) while a write
/// is pending, so at most a read or two of bytes wait in memory.
final class AttachmentUpload: StreamingRequestBody {
    private let channel: Channel
    private let pool: NIOThreadPool
    private let upload: UploadFile
    private let ingest: AttachmentIngest
    private let owner: String
    private var declared: UploadDeclaration
    private let multipart: MultipartFileExtractor?
    /// Raw request bytes allowed: the file limit, plus room for multipart framing.
    private let requestLimit: Int
    private let fileLimit: Int
    private var requestBytes = 0
    private var fileBytes = 0
    /// Completes when every chunk received so far is on disk; writes are chained behind it.
    private var writeTail: EventLoopFuture<Void>
    private var pendingWrites = 0
    /// The first refusal; later chunks are then read and dropped so the answer can be sent.
    private var failure: GatewayError?
    private var ended = false

    init(channel: Channel, pool: NIOThreadPool, upload: UploadFile, ingest: AttachmentIngest, owner: String,
         declared: UploadDeclaration, multipart: MultipartFileExtractor?, fileLimit: Int) {
        self.channel = channel
        self.pool = pool
        self.upload = upload
        self.ingest = ingest
        self.owner = owner
        self.declared = declared
        self.multipart = multipart
        self.fileLimit = fileLimit
        requestLimit = multipart == nil ? fileLimit : fileLimit + AttachmentRoutes.multipartOverheadBytes
        writeTail = channel.eventLoop.makeSucceededVoidFuture()
    }

    func receive(_ chunk: ByteBuffer) {
        guard failure == nil, !ended else { return }
        requestBytes += chunk.readableBytes
        guard requestBytes <= requestLimit else { return fail(.attachmentTooLarge(fileLimit)) }
        var bytes = chunk
        if let multipart {
            do throws(GatewayError) { bytes = try multipart.feed(chunk) } catch { return fail(error) }
        }
        guard bytes.readableBytes > 0 else { return }
        fileBytes += bytes.readableBytes
        guard fileBytes <= fileLimit else { return fail(.attachmentTooLarge(fileLimit)) }
        enqueueWrite(bytes)
    }

    func finish() -> EventLoopFuture<HTTPResponse> {
        ended = true
        let loop = channel.eventLoop
        if failure == nil, let multipart {
            if !multipart.foundFile {
                failure = .attachmentBadMultipart("The multipart/form-data body has no file part (a part with a filename, or named 'file').")
            } else if !multipart.fileComplete {
                failure = .attachmentBadMultipart("The multipart/form-data body ends inside the file part.")
            } else {
                if let name = multipart.fileName { declared.name = DeclaredFile.sanitizedName(name) }
                declared.mime = DeclaredFile.normalizedMIME(multipart.fileMIME)
                if !declared.typeChosenByClient { declared.type = DeclaredFile.defaultType(forMIME: declared.mime) }
            }
        }
        let upload = self.upload
        if let failure {
            return writeTail.flatMapErrorThrowing { _ in }.map { _ in
                upload.abort()
                return HTTPResponse.error(failure)
            }
        }
        let ingest = self.ingest, declared = self.declared.file, owner = self.owner, pool = self.pool
        return writeTail.flatMap {
            pool.runIfActive(eventLoop: loop) { ingest.run(upload, declared: declared, owner: owner) }
        }.flatMapErrorThrowing { [fileLimit] error in
            upload.abort()
            return HTTPResponse.error(Self.refusal(for: error, fileLimit: fileLimit))
        }
    }

    func abort() {
        ended = true
        let upload = self.upload
        // After the last pending write, so the file is not unlinked under a write in progress.
        // abort() is close + unlink: cheap enough for the event loop.
        writeTail.whenComplete { _ in upload.abort() }
    }

    // MARK: Writing

    private func enqueueWrite(_ bytes: ByteBuffer) {
        let upload = self.upload, pool = self.pool, loop = channel.eventLoop
        pendingWrites += 1
        if pendingWrites == 1 { setReading(false) }
        writeTail = writeTail.flatMap {
            pool.runIfActive(eventLoop: loop) {
                try bytes.withUnsafeReadableBytes { raw in try upload.write(raw) }
            }
        }
        writeTail.assumeIsolated().whenComplete { [self] result in
            if case .failure(let error) = result, failure == nil {
                failure = Self.refusal(for: error, fileLimit: fileLimit)
            }
            pendingWrites -= 1
            if pendingWrites == 0 { setReading(true) }
        }
    }

    /// A failed disk write or a pool that shut down, as the client sees it.
    private static func refusal(for error: Error, fileLimit: Int) -> GatewayError {
        if let refusal = error as? GatewayError { return refusal }
        if let storeError = error as? StoreError, storeError.code == StoreError.tooLargeCode { return .attachmentTooLarge(fileLimit) }
        return .attachmentStorageFailed()
    }

    private func fail(_ error: GatewayError) {
        failure = error
        // Keep reading (and dropping) so the handler reaches the end of the body and answers.
        setReading(true)
    }

    private func setReading(_ on: Bool) {
        channel.setOption(ChannelOptions.autoRead, value: on).whenFailure { _ in }
    }
}

/// The client's declaration plus whether it chose the type itself (then a multipart part's
/// Content-Type does not override it).
struct UploadDeclaration {
    var file: DeclaredFile
    var typeChosenByClient: Bool

    var name: String {
        get { file.name }
        set { file.name = newValue }
    }
    var mime: String {
        get { file.mime }
        set { file.mime = newValue }
    }
    var type: String {
        get { file.type }
        set { file.type = newValue }
    }
}
