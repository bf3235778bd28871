package schemas

import (
	"testing"
)

// BenchmarkCodec measures one record's encoding and decoding on the paths a
// processor uses:
//
//	impl=cartstream op=encode    Marshal (a new buffer per record)
//	impl=cartstream op=append    AppendMarshal into a reused buffer
//	impl=cartstream op=decode    Unmarshal into a reused struct
//	impl=cartstream op=goka      Codec[T].Encode + Codec[T].Decode, as goka calls them
//	impl=goavro     op=encode    goavro BinaryFromNative of the record's map form (the value
//	                             already a map: the conversion from the struct is not counted)
//	impl=goavro     op=decode    goavro NativeFromBinary into a map (conversion to the struct
//	                             not counted)
//
// The goavro rows are a baseline for the generic, map-based approach the
// hand-written codecs replace.
func BenchmarkCodec(b *testing.B) {
	b.Run("record=Product", func(b *testing.B) { benchRecord(b, sampleProducts()[0]) })
	b.Run("record=ReservationCommand", func(b *testing.B) { benchRecord(b, sampleReservationCommands()[0]) })
	b.Run("record=Promotion", func(b *testing.B) { benchRecord(b, samplePromotions()[0]) })
}

func benchRecord[T Record](b *testing.B, v T) {
	reg, err := defaultRegistry()
	if err != nil {
		b.Fatal(err)
	}
	e := reg.current[kindOf[T]()]
	data, err := Marshal(&v)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("impl=cartstream/op=encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := Marshal(&v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=cartstream/op=append", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		buf := make([]byte, 0, 512)
		for b.Loop() {
			if buf, err = AppendMarshal(buf[:0], &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=cartstream/op=decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var out T
		for b.Loop() {
			if err := Unmarshal(data, &out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=cartstream/op=goka", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		var c Codec[T]
		for b.Loop() {
			enc, err := c.Encode(&v)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := c.Decode(enc); err != nil {
				b.Fatal(err)
			}
		}
	})
	native := toNative(&v)
	body := data[singleObjectHeaderLen:]
	b.Run("impl=goavro/op=encode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		buf := make([]byte, 0, 512)
		for b.Loop() {
			if _, err := e.codec.BinaryFromNative(buf[:0], native); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=goavro/op=decode", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, _, err := e.codec.NativeFromBinary(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}
