// The specs use the public FakeClock of nestjs-token-cache/testing: one implementation.
export { FakeClock, flush } from '../../testing/fake-clock.js';
