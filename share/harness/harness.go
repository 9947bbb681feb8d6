// Function-call harness for Go "function" jobs, built as main.go next to the
// user's solution.go and entry.go ("var userEntry = <entry>") by
// `go build -o /sandbox/bin/main .` (standard library only). For each JSON text
// of $HARNESS_ROOT/code/inputs.json (default root /sandbox) it calls userEntry
// (an array is spread as the arguments, each decoded into its parameter's type)
// and appends {"index":i,"actual":<json>|"error":"<text>","executionTimeMs":t}
// to $HARNESS_ROOT/results/output.json. Panics are recovered per testcase; a
// non-nil trailing error result is an error; several results make an array.
// Imports are aliased and names prefixed with hx: package main is shared.
package main

import (
	hxbytes "bytes"
	hxjson "encoding/json"
	hxfmt "fmt"
	hxos "os"
	hxreflect "reflect"
	hxdebug "runtime/debug"
	hxsyscall "syscall"
	hxtime "time"
)

func hxFail(format string, args ...interface{}) {
	hxfmt.Fprintf(hxos.Stderr, "harness: "+format+"\n", args...)
	hxos.Exit(1)
}

// hxPlain turns nil slices into empty ones (a nil []int is reported as [], as
// in the other languages); encoding/json does the rest.
func hxPlain(v hxreflect.Value, depth int) interface{} {
	switch {
	case !v.IsValid() || (v.Kind() == hxreflect.Interface && v.IsNil()):
		return nil
	case depth > 200: // deep or cyclic: let encoding/json decide
		return v.Interface()
	case v.Kind() == hxreflect.Interface:
		return hxPlain(v.Elem(), depth+1)
	case v.Kind() == hxreflect.Slice || v.Kind() == hxreflect.Array:
		out := make([]interface{}, v.Len())
		for i := range out {
			out[i] = hxPlain(v.Index(i), depth+1)
		}
		return out
	}
	return v.Interface()
}

func hxEncode(v interface{}) ([]byte, error) {
	var buf hxbytes.Buffer
	enc := hxjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return hxbytes.TrimRight(buf.Bytes(), "\n"), nil
}

// hxArgs decodes one testcase input into the function's parameters (a
// variadic parameter takes a JSON array).
func hxArgs(fn hxreflect.Type, input string) ([]hxreflect.Value, error) {
	if !hxjson.Valid([]byte(input)) {
		return nil, hxfmt.Errorf("not a JSON text: %.100q", input)
	}
	raws := []hxjson.RawMessage{hxjson.RawMessage(input)}
	if t := hxbytes.TrimSpace([]byte(input)); len(t) > 0 && t[0] == '[' {
		if err := hxjson.Unmarshal(t, &raws); err != nil {
			return nil, err
		}
	}
	if len(raws) != fn.NumIn() {
		return nil, hxfmt.Errorf("the function takes %d arguments, the input has %d", fn.NumIn(), len(raws))
	}
	args := make([]hxreflect.Value, len(raws))
	for k, raw := range raws {
		p := hxreflect.New(fn.In(k))
		if err := hxjson.Unmarshal(raw, p.Interface()); err != nil {
			return nil, hxfmt.Errorf("argument %d: %v", k, err)
		}
		args[k] = p.Elem()
	}
	return args, nil
}

// hxCall runs the user function, turning a panic into an error message.
func hxCall(fn hxreflect.Value, args []hxreflect.Value) (out []hxreflect.Value, msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = hxfmt.Sprint("panic: ", r)
			if len(msg) > 2000 {
				msg = msg[:2000] + "..."
			}
			hxfmt.Fprintf(hxos.Stderr, "%s\n%s", msg, hxdebug.Stack())
		}
	}()
	if fn.Type().IsVariadic() {
		return fn.CallSlice(args), ""
	}
	return fn.Call(args), ""
}

// hxRunCase runs testcase i and returns its results line.
func hxRunCase(fn hxreflect.Value, i int, input string) []byte {
	var value interface{}
	start := hxtime.Now()
	args, err := hxArgs(fn.Type(), input)
	msg := ""
	if err != nil {
		msg = "InputError: " + err.Error()
	} else {
		start = hxtime.Now()
		var out []hxreflect.Value
		out, msg = hxCall(fn, args)
		errType := hxreflect.TypeOf((*error)(nil)).Elem()
		if n := len(out); n > 0 && out[n-1].Type() == errType {
			if !out[n-1].IsNil() {
				msg = "error: " + out[n-1].Interface().(error).Error()
			}
			out = out[:n-1]
		}
		if len(out) == 1 {
			value = hxPlain(out[0], 0)
		} else if len(out) > 1 { // several results: a JSON array
			all := make([]interface{}, len(out))
			for k, v := range out {
				all[k] = hxPlain(v, 0)
			}
			value = all
		}
	}
	ms := float64(hxtime.Since(start).Nanoseconds()) / 1e6
	if msg == "" {
		actual, err := hxEncode(value)
		if err == nil {
			return hxfmt.Appendf(nil, `{"index":%d,"actual":%s,"executionTimeMs":%.3f}`, i, actual, ms)
		}
		msg = "unserializable result: " + err.Error()
	}
	text, _ := hxEncode(msg)
	return hxfmt.Appendf(nil, `{"index":%d,"error":%s,"executionTimeMs":%.3f}`, i, text, ms)
}

func main() {
	root := hxos.Getenv("HARNESS_ROOT")
	if root == "" {
		root = "/sandbox"
	}
	fn := hxreflect.ValueOf(userEntry)
	if fn.Kind() != hxreflect.Func {
		hxFail("userEntry is not a function")
	}
	data, err := hxos.ReadFile(root + "/code/inputs.json")
	if err != nil {
		hxFail("%v", err)
	}
	var inputs []string
	if err := hxjson.Unmarshal(data, &inputs); err != nil {
		hxFail("inputs.json must be a JSON array of strings: %v", err)
	}
	out, err := hxos.OpenFile(root+"/results/output.json",
		hxos.O_WRONLY|hxos.O_CREATE|hxos.O_TRUNC|hxsyscall.O_NOFOLLOW, 0o644)
	if err != nil {
		hxFail("%v", err)
	}
	hxdebug.SetMaxStack(64 << 20) // deep recursion: "stack overflow", not an OOM kill

	for i, input := range inputs {
		if _, err := out.Write(append(hxRunCase(fn, i, input), '\n')); err != nil {
			hxFail("%v", err)
		}
	}
	out.Close()
	hxos.Exit(0) // do not wait for goroutines the user left running
}
