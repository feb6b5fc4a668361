import { Inject } from '@nestjs/common';
import { getTokenClientToken } from './token-client.constants.js';

/** Injects the AxiosInstance of `TokenCacheModule.forFeature({ name })`. */
export const InjectTokenClient = (name: string): PropertyDecorator & ParameterDecorator => Inject(getTokenClientToken(name));
