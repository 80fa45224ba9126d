// Command echo is the stdio benchmark's bare echo node: the least a node can
// do per message and still answer the protocol's framing. It reads lines with
// a bufio.Scanner, decodes each with encoding/json into one 6-field struct,
// counts requests per service in a map and writes a reply with a
// json.Encoder, and nothing else: no validation beyond what the decoder does,
// no telemetry, no stores, no queries. It is what meshobs is measured
// against (bench/README.md), not a node anyone should run.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// request is the whole decode target: six fields, the envelope's and the
// few body fields the reply needs.
type request struct {
	Src  string `json:"src"`
	Dest string `json:"dest"`
	Body struct {
		Type    string `json:"type"`
		MsgID   int64  `json:"msg_id"`
		Service string `json:"service"`
	} `json:"body"`
}

type reply struct {
	Src  string    `json:"src"`
	Dest string    `json:"dest"`
	Body replyBody `json:"body"`
}

type replyBody struct {
	Type      string `json:"type"`
	InReplyTo int64  `json:"in_reply_to"`
	Service   string `json:"service,omitempty"`
	Count     int64  `json:"count,omitempty"`
	Code      int    `json:"code,omitempty"`
	Text      string `json:"text,omitempty"`
}

func main() {
	if err := run(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run(r io.Reader, w io.Writer) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	out := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(out)
	counts := map[string]int64{}
	for sc.Scan() {
		var req request
		var rep reply
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			rep.Body = replyBody{Type: "error", Code: 12, Text: err.Error()}
		} else {
			rep.Body = replyBody{Type: req.Body.Type + "_ok", InReplyTo: req.Body.MsgID}
			if req.Body.Service != "" {
				counts[req.Body.Service]++
				rep.Body.Service, rep.Body.Count = req.Body.Service, counts[req.Body.Service]
			}
		}
		rep.Src, rep.Dest = req.Dest, req.Src
		if err := enc.Encode(&rep); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return out.Flush()
}
