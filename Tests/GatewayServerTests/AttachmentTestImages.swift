// Real PNG / JPEG / GIF files for the attachment tests, made and decoded with the system libgd
// (dlopen: the test target links no image library, and decoding with a library the gateway
// does not load keeps the thumbnail check independent of the plugin).
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

final class AttachmentTestImages: Sendable {
    typealias Image = OpaquePointer
    enum Format: String, CaseIterable, Sendable {
        case png = "image/png", jpeg = "image/jpeg", gif = "image/gif"
        var fileExtension: String { self == .jpeg ? "jpg" : String(rawValue.dropFirst("image/".count)) }
    }

    static let shared: AttachmentTestImages? = AttachmentTestImages()

    private let createTrueColor: @convention(c) (Int32, Int32) -> Image?
    private let filledRectangle: @convention(c) (Image, Int32, Int32, Int32, Int32, Int32) -> Void
    private let pngPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?
    private let gifPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?
    private let jpegPtr: @convention(c) (Image, UnsafeMutablePointer<Int32>, Int32) -> UnsafeMutableRawPointer?
    private let fromPng: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let fromJpeg: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let fromGif: @convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?
    private let destroyImage: @convention(c) (Image) -> Void
    private let gdFree: @convention(c) (UnsafeMutableRawPointer?) -> Void

    private init?() {
        guard let handle = dlopen("libgd.so.3", RTLD_NOW | RTLD_LOCAL) else { return nil }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: type) } }
        guard let createTrueColor = symbol("gdImageCreateTrueColor", (@convention(c) (Int32, Int32) -> Image?).self),
              let filledRectangle = symbol("gdImageFilledRectangle", (@convention(c) (Image, Int32, Int32, Int32, Int32, Int32) -> Void).self),
              let pngPtr = symbol("gdImagePngPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?).self),
              let gifPtr = symbol("gdImageGifPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>) -> UnsafeMutableRawPointer?).self),
              let jpegPtr = symbol("gdImageJpegPtr", (@convention(c) (Image, UnsafeMutablePointer<Int32>, Int32) -> UnsafeMutableRawPointer?).self),
              let fromPng = symbol("gdImageCreateFromPngPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let fromJpeg = symbol("gdImageCreateFromJpegPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let fromGif = symbol("gdImageCreateFromGifPtr", (@convention(c) (Int32, UnsafeMutableRawPointer?) -> Image?).self),
              let destroyImage = symbol("gdImageDestroy", (@convention(c) (Image) -> Void).self),
              let gdFree = symbol("gdFree", (@convention(c) (UnsafeMutableRawPointer?) -> Void).self)
        else { return nil }
        self.createTrueColor = createTrueColor
        self.filledRectangle = filledRectangle
        self.pngPtr = pngPtr
        self.gifPtr = gifPtr
        self.jpegPtr = jpegPtr
        self.fromPng = fromPng
        self.fromJpeg = fromJpeg
        self.fromGif = fromGif
        self.destroyImage = destroyImage
        self.gdFree = gdFree
    }

    static func require() throws -> AttachmentTestImages {
        try #require(shared, "libgd.so.3 could not be opened (Debian: libgd3) or lacks a symbol the tests use")
    }

    /// A width x height image, left half red, right half blue, encoded as `format`.
    func make(width: Int32, height: Int32, format: Format) -> [UInt8] {
        let image = createTrueColor(width, height)!
        defer { destroyImage(image) }
        filledRectangle(image, 0, 0, width / 2 - 1, height - 1, (220 << 16) | (20 << 8) | 20)
        filledRectangle(image, width / 2, 0, width - 1, height - 1, (20 << 16) | (20 << 8) | 220)
        var size: Int32 = 0
        let data: UnsafeMutableRawPointer?
        switch format {
        case .png: data = pngPtr(image, &size)
        case .gif: data = gifPtr(image, &size)
        case .jpeg: data = jpegPtr(image, &size, 90)
        }
        guard let data, size > 0 else { return [] }
        defer { gdFree(data) }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(size)))
    }

    /// Width and height of `bytes` decoded as `mime`, or nil when libgd cannot decode them.
    func dimensions(of bytes: [UInt8], mime: String) -> (width: Int, height: Int)? {
        var copy = bytes
        let image: Image? = copy.withUnsafeMutableBytes { raw in
            switch mime {
            case "image/png": return fromPng(Int32(raw.count), raw.baseAddress)
            case "image/jpeg": return fromJpeg(Int32(raw.count), raw.baseAddress)
            case "image/gif": return fromGif(Int32(raw.count), raw.baseAddress)
            default: return nil
            }
        }
        guard let image else { return nil }
        defer { destroyImage(image) }
        // gd.h: struct gdImageStruct { unsigned char **pixels; int sx; int sy; ... }
        let raw = UnsafeRawPointer(image)
        let width = Int(raw.load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size, as: Int32.self))
        let height = Int(raw.load(fromByteOffset: MemoryLayout<UnsafeRawPointer>.size + 4, as: Int32.self))
        return (width, height)
    }

    /// A ~70-byte PNG whose header claims width x height pixels: the decompression-bomb shape.
    static func pngClaiming(width: UInt32, height: UInt32) -> [UInt8] {
        func bigEndian(_ value: UInt32) -> [UInt8] {
            [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
        }
        func crc32(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
            }
            return ~crc
        }
        func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
            let typed = Array(type.utf8) + data
            return bigEndian(UInt32(data.count)) + typed + bigEndian(crc32(typed))
        }
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let zlibOfZeros: [UInt8] = [0x78, 0x9C, 0x63, 0x60, 0x60, 0x60, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01]
        return signature + chunk("IHDR", bigEndian(width) + bigEndian(height) + [8, 2, 0, 0, 0])
            + chunk("IDAT", zlibOfZeros) + chunk("IEND", [])
    }
}
