package inventory

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otwatch/otwatch/dissectors/dissect"
)

// Record is the exported form of a device (JSON and CSV).
type Record struct {
	ID              uint64              `json:"id"`
	MAC             string              `json:"mac,omitempty"`
	MACVendor       string              `json:"mac_vendor,omitempty"`
	IPs             []string            `json:"ips"`
	VLANs           []uint16            `json:"vlans,omitempty"`
	Via             string              `json:"via_router,omitempty"`
	IsRouter        bool                `json:"is_router,omitempty"`
	Name            string              `json:"name,omitempty"`
	Names           []Name              `json:"names,omitempty"`
	OS              string              `json:"os,omitempty"`
	Vendor          string              `json:"vendor,omitempty"`
	VendorID        uint32              `json:"vendor_id,omitempty"`
	Model           string              `json:"model,omitempty"`
	Product         string              `json:"product,omitempty"`
	Firmware        string              `json:"firmware,omitempty"`
	Hardware        string              `json:"hardware,omitempty"`
	Serial          string              `json:"serial,omitempty"`
	Mode            string              `json:"mode,omitempty"`
	Slot            string              `json:"slot,omitempty"`
	DeviceID        *uint32             `json:"device_id,omitempty"`
	Role            Role                `json:"role"`
	Confidence      float64             `json:"confidence"`
	Purdue          int                 `json:"purdue_level"`
	Evidence        []Evidence          `json:"evidence,omitempty"`
	Facts           map[string][]string `json:"facts,omitempty"`
	ClientProtocols []string            `json:"client_protocols,omitempty"`
	ServerProtocols []string            `json:"server_protocols,omitempty"`
	OpenPorts       []string            `json:"open_ports,omitempty"`
	FirstSeen       time.Time           `json:"first_seen"`
	LastSeen        time.Time           `json:"last_seen"`
	History         []Change            `json:"history,omitempty"`
}

// Export turns devices into records.
func Export(devs []*Device) []Record {
	out := make([]Record, 0, len(devs))
	for _, d := range devs {
		r := Record{ID: d.ID, MAC: d.MACString(), MACVendor: d.MACVendor, IPs: []string{}, VLANs: d.VLANs,
			IsRouter: d.IsRouter, Name: d.Name(), Names: d.Names, OS: d.OS, Vendor: d.Vendor, VendorID: d.VendorID,
			Model: d.Model, Product: d.Product, Firmware: d.Firmware, Hardware: d.Hardware, Serial: d.Serial,
			Mode: d.Mode, Slot: d.Slot, Role: d.Role, Confidence: d.Confidence, Purdue: d.Purdue,
			Evidence: d.Evidence, Facts: d.Facts, ClientProtocols: d.ClientProtocols, ServerProtocols: d.ServerProtocols,
			FirstSeen: d.FirstSeen.UTC(), LastSeen: d.LastSeen.UTC(), History: d.History}
		for _, a := range d.IPs {
			r.IPs = append(r.IPs, a.String())
		}
		if d.Via != ([6]byte{}) {
			r.Via = string(dissect.AppendMAC(nil, d.Via))
		}
		if d.HasDeviceID {
			id := d.DeviceID
			r.DeviceID = &id
		}
		for _, p := range d.Ports {
			r.OpenPorts = append(r.OpenPorts, p.Transport+"/"+strconv.Itoa(int(p.Port)))
		}
		out = append(out, r)
	}
	return out
}

// WriteJSON writes the devices as a JSON array.
func WriteJSON(w io.Writer, devs []*Device) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	if err := enc.Encode(Export(devs)); err != nil {
		return fmt.Errorf("inventory: writing JSON: %w", err)
	}
	return nil
}

// CSVHeader is the header row of WriteCSV.
var CSVHeader = []string{"id", "mac", "mac_vendor", "ips", "vlans", "name", "os", "vendor", "model", "product",
	"firmware", "serial", "mode", "role", "confidence", "purdue_level", "client_protocols", "server_protocols",
	"open_ports", "first_seen", "last_seen"}

// WriteCSV writes one row per device (lists joined with ';').
func WriteCSV(w io.Writer, devs []*Device) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("inventory: writing CSV: %w", err)
	}
	for _, r := range Export(devs) {
		var vlans []string
		for _, v := range r.VLANs {
			vlans = append(vlans, strconv.Itoa(int(v)))
		}
		row := []string{strconv.FormatUint(r.ID, 10), r.MAC, r.MACVendor, strings.Join(r.IPs, ";"),
			strings.Join(vlans, ";"), r.Name, r.OS, r.Vendor, r.Model, r.Product, r.Firmware, r.Serial, r.Mode,
			string(r.Role), strconv.FormatFloat(r.Confidence, 'f', 2, 64), strconv.Itoa(r.Purdue),
			strings.Join(r.ClientProtocols, ";"), strings.Join(r.ServerProtocols, ";"), strings.Join(r.OpenPorts, ";"),
			r.FirstSeen.Format(time.RFC3339), r.LastSeen.Format(time.RFC3339)}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("inventory: writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("inventory: writing CSV: %w", err)
	}
	return nil
}

// WriteTable prints the devices as an aligned text table.
func WriteTable(w io.Writer, devs []*Device) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tMAC\tIP\tNAME\tVENDOR\tMODEL\tFIRMWARE\tROLE\tCONF\tPURDUE\tPROTOCOLS (server / client)")
	for _, r := range Export(devs) {
		vendor := r.Vendor
		if vendor == "" {
			vendor = r.MACVendor
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%d\t%s / %s\n", r.ID, r.MAC, strings.Join(r.IPs, ","),
			r.Name, trim(vendor, 28), trim(r.Model, 24), r.Firmware, r.Role, r.Confidence, r.Purdue,
			strings.Join(r.ServerProtocols, ","), strings.Join(r.ClientProtocols, ","))
	}
	return tw.Flush()
}

func trim(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}
