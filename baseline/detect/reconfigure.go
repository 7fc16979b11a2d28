package detect

import (
	"net/netip"

	"github.com/otwatch/otwatch/baseline/alert"
	"github.com/otwatch/otwatch/baseline/learn"
)

// Reconfigure replaces the engine's configuration while it runs (an
// operator changing the settings): thresholds, rules switched on or off and
// their severities, OT subnets, approved devices and remote-access windows,
// and the custom rules. The baseline, the alert book and the state of the
// windowed detectors are kept; the custom rules' windows start afresh. An
// invalid configuration is refused (cfg.Validate's error) and the running
// one stays. OTProtocols and MaxTracked keep their current values when cfg
// leaves them unset. cfg.Custom is copied.
func (e *Engine) Reconfigure(cfg Config) error {
	cfg.Custom = append([]CustomRule(nil), cfg.Custom...)
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.Thresholds.fill()
	e.mu.Lock()
	defer e.mu.Unlock()
	if cfg.OTProtocols == nil {
		cfg.OTProtocols = e.cfg.OTProtocols
	}
	if cfg.MaxTracked <= 0 {
		cfg.MaxTracked = e.cfg.MaxTracked
	}
	e.cfg, e.th = cfg, cfg.Thresholds
	clear(e.flows) // they hold whether a protocol is OT
	for _, r := range alert.Catalogue() {
		e.on[r.ID] = cfg.Enabled(r.ID)
		e.sev[r.ID] = r.Severity
		if rc, ok := cfg.Rules[r.ID]; ok && rc.Severity != "" {
			e.sev[r.ID], _ = alert.ParseSeverity(rc.Severity)
		}
	}
	e.profiles = e.on[alert.RulePeriodicity] || e.on[alert.RuleBandwidth]
	e.custom = make([]tracker[netip.Addr], len(cfg.Custom))
	for i := range e.custom {
		e.custom[i].init(cfg.MaxTracked)
	}
	// OT subnets: the configured ones, and those of every device seen or
	// learned speaking an OT protocol.
	clear(e.otNets)
	for _, p := range cfg.OTSubnets {
		e.otNets[p.Masked()] = struct{}{}
	}
	for h := range e.otHosts {
		e.markOTNet(h)
	}
	for _, h := range e.base.Hosts(learn.FlagOT) {
		e.markOTNet(h)
	}
	return nil
}
