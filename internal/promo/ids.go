package promo

import "sort"

// IDs returns the ids of every indexed promotion, sorted.
func (x *Index) IDs() []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	ids := make([]string, 0, len(x.byID))
	for id := range x.byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
